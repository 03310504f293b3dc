"""Map joint positions between radians and the normalized policy space.

Joints map to -100..100 and grippers to 0..100 across the profile's limits.
Out-of-range values are clamped and counted; NaN and inf are rejected.
"""

from __future__ import annotations

import threading

import numpy as np

from runtime.robots.profile import RobotProfile

JOINT_RANGE = (-100.0, 100.0)
GRIPPER_RANGE = (0.0, 100.0)


class NonFiniteJointError(ValueError):
    """A joint vector held NaN or inf."""


class JointNormalizer:
    """Converts between radians and normalized units for one robot profile.

    ``clamped`` counts every element clamped so far (thread-safe).
    """

    def __init__(self, profile: RobotProfile) -> None:
        self.profile = profile
        self.lower_rad = np.array([j.lower for j in profile.joints], dtype=np.float64)
        self.upper_rad = np.array([j.upper for j in profile.joints], dtype=np.float64)
        is_gripper = np.array([j.gripper for j in profile.joints])
        self.lower_norm = np.where(is_gripper, GRIPPER_RANGE[0], JOINT_RANGE[0])
        self.upper_norm = np.where(is_gripper, GRIPPER_RANGE[1], JOINT_RANGE[1])
        self._lock = threading.Lock()
        self.clamped = 0

    @property
    def joint_names(self) -> list[str]:
        return self.profile.joint_names

    def _check(self, values: np.ndarray | list[float], what: str) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (self.profile.dof,):
            raise ValueError(
                f"{what}: expected {self.profile.dof} values for {self.joint_names}, got shape {arr.shape}"
            )
        bad = ~np.isfinite(arr)
        if bad.any():
            names = [n for n, b in zip(self.joint_names, bad, strict=True) if b]
            raise NonFiniteJointError(f"{what}: non-finite value (NaN/inf) for joints {names}")
        return arr

    def _clamp(self, arr: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        out = np.clip(arr, lower, upper)
        n = int(np.count_nonzero(out != arr))
        if n:
            with self._lock:
                self.clamped += n
        return out

    def clamp_normalized(self, values: np.ndarray | list[float]) -> np.ndarray:
        """Validate a normalized vector and clamp it into range."""
        return self._clamp(self._check(values, "normalized joints"), self.lower_norm, self.upper_norm)

    def normalize(self, radians: np.ndarray | list[float]) -> np.ndarray:
        """Radians -> normalized units (clamped to the limits)."""
        arr = self._clamp(self._check(radians, "joint radians"), self.lower_rad, self.upper_rad)
        frac = (arr - self.lower_rad) / (self.upper_rad - self.lower_rad)
        return self.lower_norm + frac * (self.upper_norm - self.lower_norm)

    def denormalize(self, normalized: np.ndarray | list[float]) -> np.ndarray:
        """Normalized units -> radians (clamped to the normalized range first)."""
        arr = self.clamp_normalized(normalized)
        frac = (arr - self.lower_norm) / (self.upper_norm - self.lower_norm)
        return self.lower_rad + frac * (self.upper_rad - self.lower_rad)
