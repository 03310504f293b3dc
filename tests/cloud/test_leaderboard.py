"""The Bradley–Terry fit on known cases, and the public leaderboard through the real app."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.cloud.arena import DELAY_ENV
from api.cloud.bradley_terry import PRIOR_GAMES, fit_strengths, rate, to_ratings
from api.cloud.leaderboard import BOOTSTRAP_ROUNDS, BOOTSTRAP_SEED
from tests.cloud.fixtures import mlp_onnx, onnx_metadata_config
from tests.openapi_validation import SpecValidator

PATH = "/v1/leaderboard"


# ---- the fit ----------------------------------------------------------------------------------


def mm_ratings(n: int, comparisons: list[tuple[int, int, float]], prior: float = PRIOR_GAMES) -> np.ndarray:
    """An independent reference: Zermelo/MM iterations on the same model, prior included."""
    games, wins = np.zeros((n, n)), np.full(n, prior / 2)
    for i, j, s in comparisons:
        games[i, j] += 1
        games[j, i] += 1
        wins[i] += s
        wins[j] += 1 - s
    p = np.ones(n)
    for _ in range(100_000):
        new = wins / ((games / (p[:, None] + p[None, :])).sum(axis=1) + prior / (p + 1))
        if np.max(np.abs(np.log(new / p))) < 1e-12:
            break
        p = new
    return 1500 + 400 * (np.log10(p) - np.log10(p).mean())


def synthetic_votes(ratings: list[float], count: int, seed: int) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(seed)
    strength = 10 ** (np.array(ratings) / 400)
    votes = []
    for _ in range(count):
        i, j = rng.choice(len(ratings), 2, replace=False)
        votes.append((int(i), int(j), 1.0 if rng.random() < strength[i] / (strength[i] + strength[j]) else 0.0))
    return votes


def test_symmetric_results_give_equal_ratings() -> None:
    cycle = [(0, 1, 1.0), (1, 0, 1.0), (1, 2, 1.0), (2, 1, 1.0), (0, 2, 1.0), (2, 0, 1.0)]
    for comparisons in (cycle, [(0, 1, 0.5), (1, 2, 0.5), (2, 0, 0.5)]):
        fit = rate(3, comparisons)
        assert fit.ratings == pytest.approx([1500, 1500, 1500], abs=1e-6)


def test_two_players_without_prior_match_the_closed_form() -> None:
    games, scores = np.array([[[0.0, 4.0], [4.0, 0.0]]]), np.array([[3.0, 1.0]])  # 3 wins to 1
    ratings = to_ratings(fit_strengths(games, scores, prior_games=0.0))[0]
    gap = 400 * np.log10(3)  # maximum likelihood: strengths 3:1
    assert ratings == pytest.approx([1500 + gap / 2, 1500 - gap / 2], abs=1e-6)


def test_synthetic_votes_recover_order_and_gaps() -> None:
    truth = [1700, 1500, 1300, 1550]
    fit = rate(4, synthetic_votes(truth, 3000, seed=1), rounds=200, seed=7)
    centred = np.array(truth) - np.mean(truth) + 1500
    assert list(np.argsort(fit.ratings)) == list(np.argsort(centred))
    assert fit.ratings == pytest.approx(centred, abs=35)
    assert np.all(fit.low < fit.ratings) and np.all(fit.ratings < fit.high)
    assert np.all(fit.high - fit.low < 80)
    assert np.mean(fit.ratings) == pytest.approx(1500)


def test_newton_agrees_with_mm_and_undefeated_players_stay_finite() -> None:
    comparisons = synthetic_votes([1600, 1500, 1400], 60, seed=3) + [(3, 0, 1.0)] * 4  # player 3 never lost
    fit = rate(4, comparisons)
    assert fit.ratings == pytest.approx(mm_ratings(4, comparisons), abs=1e-4)
    assert np.all(np.isfinite(fit.ratings)) and fit.ratings[3] == max(fit.ratings)


def test_bootstrap_is_seeded() -> None:
    comparisons = synthetic_votes([1550, 1450], 40, seed=5)
    first, second, other = rate(2, comparisons, seed=1), rate(2, comparisons, seed=1), rate(2, comparisons, seed=2)
    assert np.array_equal(first.low, second.low) and np.array_equal(first.high, second.high)
    assert not np.array_equal(first.low, other.low)
    assert BOOTSTRAP_ROUNDS >= 200


# ---- the endpoint -----------------------------------------------------------------------------


def publish_policy(client: TestClient, headers: dict, slug: str, title: str) -> None:
    files = {"model": ("policy.onnx", mlp_onnx(), "application/octet-stream")}
    data = {"runtimeAdapter": "onnx_metadata_v1", "config": json.dumps(onnx_metadata_config())}
    response = client.post(
        "/api/publish/policies", headers=headers, files=files, data={**data, "slugPath": slug, "title": title}
    )
    assert response.status_code == 201, response.text


def board(client: TestClient, validator: SpecValidator) -> dict:
    response = client.get(PATH)  # public: no auth
    assert response.status_code == 200, response.text
    validator.validate_response("get", PATH, 200, response.json())
    return response.json()


def test_empty_leaderboard(client: TestClient, cloud_validator: SpecValidator) -> None:
    assert board(client, cloud_validator) == {"updated_at": None, "winner": None, "entries": []}


def test_leaderboard_from_arena_votes(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_policy(client, auth, "walker", "Walker")
    publish_policy(client, auth, "runner", "Runner")
    monkeypatch.setenv(DELAY_ENV, "0.05")
    matchup = client.post("/api/arena/launch").json()["matchup"]
    walker_side = "left" if matchup["left"]["policyRef"] == "alice/walker" else "right"
    runner_side = "right" if walker_side == "left" else "left"
    ballots = [walker_side] * 4 + [runner_side] * 2 + ["both_good", "both_bad"]
    time.sleep(max(0.0, (datetime.fromisoformat(matchup["voteUnlockAt"]) - datetime.now(UTC)).total_seconds()) + 0.01)
    for voter, winner in enumerate(ballots):
        response = client.post(
            "/api/arena/vote",
            json={"matchupId": matchup["id"], "winner": winner},
            headers={"user-agent": f"ua-{voter}"},
        )
        assert response.status_code == 200, response.text

    result = board(client, cloud_validator)
    assert result["winner"] == "alice/walker" and result["updated_at"]
    walker, runner = result["entries"]
    assert set(walker) == set(cloud_validator.spec["components"]["schemas"]["LeaderboardEntry"]["properties"])
    assert (walker["policy_ref"], walker["title"], walker["wins"], walker["losses"]) == ("alice/walker", "Walker", 4, 2)
    assert (runner["policy_ref"], runner["title"], runner["wins"], runner["losses"]) == ("alice/runner", "Runner", 2, 4)
    assert walker["ties"] == runner["ties"] == 2 and walker["counted_votes"] == runner["counted_votes"] == 8
    assert walker["rating"] + runner["rating"] == pytest.approx(3000, abs=0.11)
    gap = walker["rating"] - runner["rating"]
    assert 60 < gap < 400 * np.log10(5 / 3)  # 5 of 8 points: the prior shrinks the unregularised gap a little
    expected = rate(2, [(1, 0, 1.0)] * 4 + [(0, 1, 1.0)] * 2 + [(0, 1, 0.5)] * 2, BOOTSTRAP_ROUNDS, BOOTSTRAP_SEED)
    assert [runner["rating"], walker["rating"]] == pytest.approx(expected.ratings, abs=0.051)
    for entry in (walker, runner):
        assert entry["confidence_low"] <= entry["rating"] <= entry["confidence_high"]
