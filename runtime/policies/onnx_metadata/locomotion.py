"""Observation terms shared by legged-locomotion policies (Unitree ``unitree_rl_gym`` conventions)."""

from __future__ import annotations

import math

import numpy as np

GAIT_PERIOD = 0.8  # seconds; unitree_rl_gym's G1/H1 gait clock


def projected_gravity(quat_wxyz: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    """Gravity direction in the base frame from the base orientation quaternion ``(w, x, y, z)``.

    Unitree's ``get_gravity_orientation``: ``[2(-zx + wy), -2(zy + wx), 1 - 2(w^2 + z^2)]`` (the
    quaternion is normalised first). Upright gives ``[0, 0, -1]``; pitching nose-down by ``theta``
    gives ``[sin(theta), 0, -cos(theta)]``. A zero or non-finite quaternion gives NaNs, which the
    observation check then refuses.
    """
    q = np.asarray(quat_wxyz, dtype=np.float64).reshape(4)
    norm = float(np.sqrt(q @ q))
    if not math.isfinite(norm) or norm < 1e-9:
        return np.full(3, np.nan)
    w, x, y, z = q / norm
    return np.array([2.0 * (-z * x + w * y), -2.0 * (z * y + w * x), 1.0 - 2.0 * (w * w + z * z)])


def gait_phase(t: float, period: float = GAIT_PERIOD) -> np.ndarray:
    """``[sin(2 pi phase), cos(2 pi phase)]`` with ``phase = (t mod period) / period``."""
    phase = (float(t) % period) / period
    return np.array([math.sin(2.0 * math.pi * phase), math.cos(2.0 * math.pi * phase)])


def vector(value: object, size: int, what: str) -> np.ndarray:
    """``value`` as a float64 vector of ``size`` values; ``ValueError`` naming ``what`` otherwise."""
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size != size:
        raise ValueError(f"{what} must have {size} values, got {arr.size}")
    return arr
