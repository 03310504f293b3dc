"""The arena through the real app: launch, read, control, and one vote per voter once voting unlocks."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.cloud.arena import DELAY_ENV
from tests.cloud.fixtures import bearer, mlp_onnx, onnx_metadata_config
from tests.openapi_validation import SpecValidator

LAUNCH, MATCHUP, CONTROL, VOTE = (
    "/api/arena/launch",
    "/api/arena/matchup/{matchupId}",
    "/api/arena/control",
    "/api/arena/vote",
)
ACTIONS = [f"{d}-{e}" for d in ("forward", "backward", "left", "right") for e in ("press", "release")] + ["reset"]


def publish_policy(client: TestClient, headers: dict, slug: str) -> None:
    files = {"model": ("policy.onnx", mlp_onnx(), "application/octet-stream")}
    data = {"runtimeAdapter": "onnx_metadata_v1", "config": json.dumps(onnx_metadata_config())}
    response = client.post(
        "/api/publish/policies", headers=headers, files=files, data={**data, "slugPath": slug, "title": slug.title()}
    )
    assert response.status_code == 201, response.text


def call(client: TestClient, validator: SpecValidator, method: str, path: str, template: str, **kwargs):
    response = client.request(method, path, **kwargs)
    validator.validate_response(method, template, response.status_code, response.json())
    return response.status_code, response.json()


def launch(client: TestClient, validator: SpecValidator) -> dict:
    status, body = call(client, validator, "post", LAUNCH, LAUNCH)
    assert status == 201, body
    return body["matchup"]


def vote(client: TestClient, validator: SpecValidator, matchup_id: str, winner: str, **headers: str):
    return call(
        client, validator, "post", VOTE, VOTE, json={"matchupId": matchup_id, "winner": winner}, headers=headers
    )


def wait_until_unlocked(matchup: dict) -> None:
    unlock = datetime.fromisoformat(matchup["voteUnlockAt"])
    time.sleep(max(0.0, (unlock - datetime.now(UTC)).total_seconds()) + 0.01)


def test_launch_needs_two_active_policies(client: TestClient, cloud_validator: SpecValidator, auth: dict) -> None:
    status, body = call(client, cloud_validator, "post", LAUNCH, LAUNCH)
    assert status == 400 and "0 available" in body["error"]
    publish_policy(client, auth, "walker")
    status, body = call(client, cloud_validator, "post", LAUNCH, LAUNCH)
    assert status == 400 and "at least two" in body["error"]


def test_matchup_launch_read_and_control(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DELAY_ENV, "30")
    publish_policy(client, auth, "walker")
    publish_policy(client, bearer(make_token("bob")["token"]), "runner")
    launched_at = datetime.now(UTC)
    matchup = launch(client, cloud_validator)
    assert matchup["status"] == "queued"
    assert {matchup["left"]["policyRef"], matchup["right"]["policyRef"]} == {"alice/walker", "bob/runner"}
    for side in ("left", "right"):
        participant = matchup[side]
        assert participant["browserUrl"] is None and participant["simulationId"].startswith("sim_")
        assert participant["title"] in ("Walker", "Runner")
    assert matchup["left"]["simulationId"] != matchup["right"]["simulationId"]
    delay = (datetime.fromisoformat(matchup["voteUnlockAt"]) - launched_at).total_seconds()
    assert 29 < delay < 31

    status, body = call(client, cloud_validator, "get", f"/api/arena/matchup/{matchup['id']}", MATCHUP)
    assert status == 200 and body["matchup"] == matchup
    status, body = call(client, cloud_validator, "get", "/api/arena/matchup/matchup_nope", MATCHUP)
    assert status == 404

    for action in ACTIONS:
        request = {"matchupId": matchup["id"], "side": "right", "action": action}
        status, body = call(client, cloud_validator, "post", CONTROL, CONTROL, json=request)
        assert status == 200 and body["ok"] is True and body["matchup"] == matchup
        [dispatch] = body["dispatches"]
        assert (dispatch["side"], dispatch["transport"]) == ("right", "browser-postmessage")
        payload = dispatch["payload"]
        assert payload["simulationId"] == matchup["right"]["simulationId"] and payload["action"] == action
    assert payload["command"] == {"kind": "reset"}
    request = {"matchupId": matchup["id"], "side": "left", "action": "forward-press"}
    command = call(client, cloud_validator, "post", CONTROL, CONTROL, json=request)[1]["dispatches"][0]["payload"]
    assert command["command"] == {"kind": "move", "direction": "forward", "active": True}
    for bad in ({"side": "middle"}, {"action": "jump"}, {"matchupId": None}):
        status, body = call(client, cloud_validator, "post", CONTROL, CONTROL, json={**request, **bad})
        assert status == 400, body
    status, body = call(client, cloud_validator, "post", CONTROL, CONTROL, json={**request, "matchupId": "matchup_x"})
    assert status == 404


def test_voting_unlocks_late_and_counts_each_voter_once(
    client: TestClient, cloud_validator: SpecValidator, auth: dict, make_token, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_policy(client, auth, "walker")
    publish_policy(client, auth, "runner")
    monkeypatch.setenv(DELAY_ENV, "60")
    locked = launch(client, cloud_validator)
    status, body = vote(client, cloud_validator, locked["id"], "left")
    assert status == 400 and "opens at" in body["error"]

    monkeypatch.setenv(DELAY_ENV, "0.2")
    matchup = launch(client, cloud_validator)
    wait_until_unlocked(matchup)
    status, body = vote(client, cloud_validator, matchup["id"], "left", **{"user-agent": "browser-a"})
    assert status == 200 and body["matchup"] == matchup
    status, body = vote(client, cloud_validator, matchup["id"], "right", **{"user-agent": "browser-a"})
    assert status == 400 and "already voted" in body["error"]
    assert vote(client, cloud_validator, matchup["id"], "both_good", **{"user-agent": "browser-b"})[0] == 200
    carol = bearer(make_token("carol")["token"])
    assert vote(client, cloud_validator, matchup["id"], "both_bad", **carol, **{"user-agent": "browser-a"})[0] == 200
    status, body = vote(client, cloud_validator, matchup["id"], "left", **carol, **{"user-agent": "browser-z"})
    assert status == 400 and "already voted" in body["error"]
    for bad in ({"winner": "neither"}, {"matchupId": "matchup_nope"}):
        status, body = call(
            client, cloud_validator, "post", VOTE, VOTE, json={"matchupId": matchup["id"], "winner": "left", **bad}
        )
        assert status == 400, body
    votes = client.app.state.cloud_db.rows("arena_votes")
    assert sorted(v["winner"] for v in votes) == ["both_bad", "both_good", "left"]
