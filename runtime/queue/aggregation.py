"""Named functions that merge an already-queued action with a newly predicted one.

Each aggregator is called as ``fn(old, new, count)`` where ``count`` is the number of
predictions already folded into ``old`` (1 after the first chunk).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Aggregator = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def latest_only(old: np.ndarray, new: np.ndarray, count: int) -> np.ndarray:
    """Keep the newest prediction."""
    return new


def weighted_average(old: np.ndarray, new: np.ndarray, count: int) -> np.ndarray:
    """0.3 old + 0.7 new."""
    return 0.3 * old + 0.7 * new


def average(old: np.ndarray, new: np.ndarray, count: int) -> np.ndarray:
    """0.5 old + 0.5 new."""
    return 0.5 * old + 0.5 * new


def conservative(old: np.ndarray, new: np.ndarray, count: int) -> np.ndarray:
    """0.7 old + 0.3 new."""
    return 0.7 * old + 0.3 * new


class TemporalEnsemble:
    """ACT's temporal ensembling: prediction j (0 = oldest) weighs exp(-coeff * j).

    The queued value is the weighted mean of all predictions for that step, kept
    incrementally: ``(old * W(n) + w_n * new) / W(n + 1)`` with ``W(n) = sum_{j<n} w_j``.
    """

    def __init__(self, coeff: float = 0.01) -> None:
        self.coeff = coeff

    def weight(self, j: int) -> float:
        return math.exp(-self.coeff * j)

    def cumulative(self, n: int) -> float:
        return sum(self.weight(j) for j in range(n))

    def __call__(self, old: np.ndarray, new: np.ndarray, count: int) -> np.ndarray:
        w_old = self.cumulative(count)
        w_new = self.weight(count)
        return (old * w_old + new * w_new) / (w_old + w_new)


AGGREGATE_FUNCTIONS: dict[str, Aggregator] = {
    "latest_only": latest_only,
    "weighted_average": weighted_average,
    "average": average,
    "conservative": conservative,
    "temporal_ensemble": TemporalEnsemble(),
}


def make_aggregator(name: str, temporal_ensemble_coeff: float = 0.01) -> Aggregator:
    """Look an aggregator up by name; ``temporal_ensemble`` takes its coefficient."""
    if name == "temporal_ensemble":
        return TemporalEnsemble(temporal_ensemble_coeff)
    try:
        return AGGREGATE_FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown aggregate function {name!r}; choose from {sorted(AGGREGATE_FUNCTIONS)}") from None
