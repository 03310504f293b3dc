"""Bradley–Terry ratings: maximum-likelihood strengths (Newton on log-strengths), bootstrap intervals.

Each comparison ``(i, j, s)`` scores ``s`` for ``i`` and ``1 - s`` for ``j`` (1 win, 0 loss, 0.5 tie).
A tiny prior, ``prior_games`` virtual drawn games of each player against a fixed reference of
strength 1, keeps undefeated and winless players finite. Ratings are on the Elo scale:
``1500 + 400 * log10(strength / geometric mean of strengths)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE_RATING = 1500.0
SCALE = 400.0
PRIOR_GAMES = 1.0


@dataclass(frozen=True)
class Fit:
    ratings: np.ndarray  # (n,)
    low: np.ndarray  # (n,) 2.5th percentile of the bootstrap ratings
    high: np.ndarray  # (n,) 97.5th percentile


def _table(n: int, i: np.ndarray, j: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Games matrix ``(n, n)`` and total scores ``(n,)`` of comparisons ``i`` vs ``j`` scoring ``s`` for ``i``."""
    games = np.bincount(i * n + j, minlength=n * n) + np.bincount(j * n + i, minlength=n * n)
    scores = np.bincount(i, s, minlength=n) + np.bincount(j, 1.0 - s, minlength=n)
    return games.reshape(n, n).astype(float), scores


def fit_strengths(
    games: np.ndarray, scores: np.ndarray, prior_games: float = PRIOR_GAMES, tol: float = 1e-9, max_iter: int = 200
) -> np.ndarray:
    """Maximum-likelihood strengths ``(B, n)`` for a batch of games ``(B, n, n)`` and scores ``(B, n)``.

    Newton's method on log-strengths; the log-likelihood is strictly concave thanks to the prior,
    and steps are clipped to 1 (a factor e) so far-from-optimum starts cannot overshoot. Without a
    prior (``prior_games=0``) every player needs a win and a loss within a connected comparison graph.
    """
    wins = scores + prior_games / 2
    theta = np.zeros(scores.shape)
    eye = np.eye(scores.shape[1])
    for _ in range(max_iter):
        win_prob = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))  # P(i beats j)
        vs_ref = 1.0 / (1.0 + np.exp(-theta))  # P(i beats the reference)
        grad = wins - (games * win_prob).sum(axis=2) - prior_games * vs_ref
        curvature = games * win_prob * (1.0 - win_prob)
        hessian = curvature - eye * (curvature.sum(axis=2) + prior_games * vs_ref * (1.0 - vs_ref))[:, :, None]
        if prior_games == 0:  # only differences are identified: pin the mean log-strength instead
            hessian = hessian - 1.0 / len(eye)
        step = np.clip(np.linalg.solve(hessian, grad[..., None])[..., 0], -1.0, 1.0)
        theta = theta - step
        if np.max(np.abs(step)) < tol:
            break
    return np.exp(theta)


def to_ratings(strengths: np.ndarray) -> np.ndarray:
    """Elo-scale ratings, anchored so the geometric mean strength is ``BASE_RATING``."""
    logs = np.log10(strengths)
    return BASE_RATING + SCALE * (logs - logs.mean(axis=-1, keepdims=True))


def rate(
    n: int,
    comparisons: list[tuple[int, int, float]],
    rounds: int = 200,
    seed: int = 0,
    prior_games: float = PRIOR_GAMES,
) -> Fit:
    """Ratings of ``n`` players from comparisons, with 95% intervals from ``rounds`` seeded bootstrap resamples."""
    if n == 0:
        empty = np.zeros(0)
        return Fit(empty, empty, empty)
    i = np.array([c[0] for c in comparisons], dtype=int)
    j = np.array([c[1] for c in comparisons], dtype=int)
    s = np.array([c[2] for c in comparisons], dtype=float)
    games, scores = _table(n, i, j, s)
    ratings = to_ratings(fit_strengths(games[None], scores[None], prior_games))[0]
    m = len(comparisons)
    if m == 0:
        return Fit(ratings, ratings.copy(), ratings.copy())
    rng = np.random.default_rng(seed)
    resamples = [_table(n, i[k], j[k], s[k]) for k in (rng.integers(0, m, size=m) for _ in range(rounds))]
    boot_games, boot_scores = (np.stack(parts) for parts in zip(*resamples, strict=True))
    boot = to_ratings(fit_strengths(boot_games, boot_scores, prior_games))
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    return Fit(ratings, low, high)
