"""A queue of actions keyed by control timestep.

A chunk predicted from the observation taken at tick ``k`` holds the actions for
ticks ``k, k+1, ...``. On merge, steps whose tick has already passed are dropped
(latency compensation), steps the queue lacks are appended, and overlapping steps
are merged by the queue's aggregator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from runtime.queue.aggregation import make_aggregator


@dataclass(frozen=True)
class MergeReport:
    """What one merge did."""

    dropped: int
    appended: int
    merged: int


class ActionQueue:
    """Thread-safe timestep -> action store with aggregation and a refill threshold."""

    def __init__(
        self,
        chunk_size: int,
        aggregate_fn: str = "weighted_average",
        chunk_size_threshold: float = 0.5,
        temporal_ensemble_coeff: float = 0.01,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        if not 0.0 <= chunk_size_threshold <= 1.0:
            raise ValueError("chunk_size_threshold must be within 0..1")
        self.chunk_size = chunk_size
        self.aggregate_fn = aggregate_fn
        self.chunk_size_threshold = chunk_size_threshold
        self._aggregate = make_aggregator(aggregate_fn, temporal_ensemble_coeff)
        self._lock = threading.Lock()
        self._actions: dict[int, np.ndarray] = {}
        self._counts: dict[int, int] = {}

    def merge(self, chunk: np.ndarray, first_timestep: int, current_timestep: int) -> MergeReport:
        """Merge ``chunk[i]`` as the action for tick ``first_timestep + i``.

        Steps before ``current_timestep`` have passed and are dropped.
        """
        chunk = np.array(chunk, dtype=np.float64)  # private copy: queued rows never alias the caller
        if chunk.ndim != 2:
            raise ValueError(f"chunk must be 2-D (steps, action_dim), got shape {chunk.shape}")
        dropped = appended = merged = 0
        with self._lock:
            self._discard_before(current_timestep)
            for i, action in enumerate(chunk):
                t = first_timestep + i
                if t < current_timestep:
                    dropped += 1
                elif t in self._actions:
                    self._actions[t] = self._aggregate(self._actions[t], action, self._counts[t])
                    self._counts[t] += 1
                    merged += 1
                else:
                    self._actions[t] = action
                    self._counts[t] = 1
                    appended += 1
        return MergeReport(dropped=dropped, appended=appended, merged=merged)

    def pop(self, timestep: int) -> np.ndarray | None:
        """Return and remove the action for ``timestep``; older steps are discarded."""
        with self._lock:
            self._discard_before(timestep)
            self._counts.pop(timestep, None)
            return self._actions.pop(timestep, None)

    def depth(self, from_timestep: int | None = None) -> int:
        """Number of queued actions at or after ``from_timestep`` (all when None)."""
        with self._lock:
            if from_timestep is None:
                return len(self._actions)
            return sum(1 for t in self._actions if t >= from_timestep)

    def needs_refill(self, from_timestep: int) -> bool:
        """True when the queue holds no more than ``threshold * chunk_size`` actions."""
        return self.depth(from_timestep) <= self.chunk_size_threshold * self.chunk_size

    def clear(self) -> None:
        with self._lock:
            self._actions.clear()
            self._counts.clear()

    def summary(self) -> dict:
        """Contents summary for debugging: size, timestep span, aggregation counts."""
        with self._lock:
            steps = sorted(self._actions)
            return {
                "size": len(steps),
                "first_timestep": steps[0] if steps else None,
                "last_timestep": steps[-1] if steps else None,
                "chunk_size": self.chunk_size,
                "chunk_size_threshold": self.chunk_size_threshold,
                "aggregate_fn": self.aggregate_fn,
                "max_predictions_per_step": max(self._counts.values(), default=0),
                "next_action": self._actions[steps[0]].round(4).tolist() if steps else None,
            }

    def _discard_before(self, timestep: int) -> None:
        for t in [t for t in self._actions if t < timestep]:
            del self._actions[t]
            del self._counts[t]
