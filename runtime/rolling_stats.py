"""Bounded sample windows with percentiles, for latency and timing figures."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np


class RollingStats:
    """Keeps the last ``maxlen`` samples; reports count and percentiles."""

    def __init__(self, maxlen: int = 2000) -> None:
        self._samples: deque[float] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, value: float) -> None:
        with self._lock:
            self._samples.append(value)
            self.count += 1

    def clear(self) -> None:
        with self._lock:
            self._samples.clear()
            self.count = 0

    def values(self) -> np.ndarray:
        with self._lock:
            return np.array(self._samples, dtype=np.float64)

    def percentile(self, q: float) -> float | None:
        vals = self.values()
        return float(np.percentile(vals, q)) if vals.size else None

    def summary_ms(self) -> dict[str, float | None]:
        """p50/p99/max of the window in milliseconds (None when empty)."""
        vals = self.values()
        if not vals.size:
            return {"p50_ms": None, "p99_ms": None, "max_ms": None}
        p50, p99 = np.percentile(vals, [50, 99])
        return {
            "p50_ms": round(float(p50) * 1e3, 3),
            "p99_ms": round(float(p99) * 1e3, 3),
            "max_ms": round(float(vals.max()) * 1e3, 3),
        }
