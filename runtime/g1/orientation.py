"""IMU orientation helpers shared by the simulated G1 and the message codecs (no ROS, no MuJoCo)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def quat_to_rpy(quat: ArrayLike) -> np.ndarray:
    """Roll, pitch, yaw (ZYX Euler angles, rad) of a ``w, x, y, z`` quaternion (NaN in, NaN out)."""
    w, x, y, z = (float(v) for v in np.asarray(quat, dtype=np.float64).reshape(4))
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x)))) if math.isfinite(w * y - z * x) else math.nan
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.array([roll, pitch, yaw])
