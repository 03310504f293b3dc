"""The latest frame per camera and the latest joint state, each with its receive time.

Inputs are validated on the way in; a rejected input raises ``InputRejected`` with a
short ``reason`` key (for counting) and a readable message, and never replaces a good one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from runtime.observation import Observation
from runtime.robots.normalization import JointNormalizer, NonFiniteJointError


class InputRejected(ValueError):
    """An input that was refused; ``reason`` is a stable key for the stats."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class _Sample:
    value: np.ndarray
    received_at: float


class LatestInputs:
    """Thread-safe store of the newest valid input from each source."""

    def __init__(self, camera_shapes: dict[str, tuple[int, int]], normalizer: JointNormalizer) -> None:
        self.camera_shapes = dict(camera_shapes)
        self.normalizer = normalizer
        self.joint_names = normalizer.joint_names
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        self._lock = threading.Lock()
        self._frames: dict[str, _Sample] = {}
        self._joints: _Sample | None = None

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._joints = None

    def put_frame(self, camera: str, rgb: np.ndarray, received_at: float | None = None) -> None:
        """Store an (H, W, 3) uint8 RGB frame for ``camera``."""
        expected = self.camera_shapes.get(camera)
        if expected is None:
            raise InputRejected("unknown_camera", f"camera {camera!r} is not one of {sorted(self.camera_shapes)}")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputRejected("image_encoding", f"camera {camera}: expected HxWx3 uint8, got {rgb.shape} {rgb.dtype}")
        if rgb.shape[:2] != expected:
            raise InputRejected(
                "image_size",
                f"camera {camera}: image is {rgb.shape[1]}x{rgb.shape[0]}, policy expects {expected[1]}x{expected[0]}",
            )
        sample = _Sample(rgb, time.monotonic() if received_at is None else received_at)
        with self._lock:
            self._frames[camera] = sample

    def put_joints(self, names: Sequence[str], positions: Sequence[float], received_at: float | None = None) -> None:
        """Store normalized joint positions given by name (any order); clamps and counts out-of-range values."""
        if len(names) != len(positions):
            raise InputRejected("joint_layout", f"{len(names)} joint names but {len(positions)} positions")
        if len(set(names)) != len(names):
            duplicates = sorted({n for n in names if list(names).count(n) > 1})
            raise InputRejected("joint_layout", f"duplicate joint names {duplicates}")
        unknown = [n for n in names if n not in self._index]
        if unknown:
            raise InputRejected("unknown_joint", f"unknown joint names {unknown}; expected {self.joint_names}")
        missing = [n for n in self.joint_names if n not in names]
        if missing:
            raise InputRejected("missing_joint", f"joint state lacks {missing}")
        ordered = np.empty(len(self.joint_names), dtype=np.float64)
        for name, value in zip(names, positions, strict=True):
            ordered[self._index[name]] = value
        try:
            values = self.normalizer.clamp_normalized(ordered)
        except NonFiniteJointError as exc:
            raise InputRejected("non_finite_joint", str(exc)) from exc
        sample = _Sample(values, time.monotonic() if received_at is None else received_at)
        with self._lock:
            self._joints = sample

    def stale_reasons(self, now: float, max_age_s: float) -> list[str]:
        """Why the inputs are not fresh enough to act on (empty when they are)."""
        reasons = []
        with self._lock:
            for cam in self.camera_shapes:
                sample = self._frames.get(cam)
                if sample is None:
                    reasons.append(f"camera {cam}: no frame yet")
                elif now - sample.received_at > max_age_s:
                    reasons.append(f"camera {cam}: last frame {now - sample.received_at:.2f}s old")
            if self._joints is None:
                reasons.append("joint input: no joint state yet")
            elif now - self._joints.received_at > max_age_s:
                reasons.append(f"joint input: last state {now - self._joints.received_at:.2f}s old")
        return reasons

    def snapshot(self, timestamp: float, timestep: int) -> Observation:
        """The current inputs as an Observation; call only when ``stale_reasons`` is empty."""
        with self._lock:
            if self._joints is None or any(cam not in self._frames for cam in self.camera_shapes):
                raise RuntimeError("snapshot taken before every input arrived")
            images = {cam: self._frames[cam].value for cam in self.camera_shapes}
            times = {f"camera.{cam}": self._frames[cam].received_at for cam in self.camera_shapes}
            times["joints"] = self._joints.received_at
            state = self._joints.value.copy()
        return Observation(images=images, state=state, timestamp=timestamp, timestep=timestep, input_times=times)

    def ages(self, now: float) -> dict[str, float | None]:
        """Age in seconds of each input (None before the first)."""
        with self._lock:
            out: dict[str, float | None] = {
                f"camera.{cam}": (round(now - s.received_at, 3) if (s := self._frames.get(cam)) else None)
                for cam in self.camera_shapes
            }
            out["joints"] = round(now - self._joints.received_at, 3) if self._joints else None
        return out
