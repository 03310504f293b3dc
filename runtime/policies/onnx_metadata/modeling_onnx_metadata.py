"""Runtime adapter for ``onnx_metadata_v1``: an ONNX locomotion policy described by its config/metadata.

The observation is assembled from the named terms of ``observationLayout``, in the declared order,
each multiplied by its ``observationScales`` entry (default 1). Supported names (aliases in
brackets); ``n`` is the action size (one value per policy joint, in ``jointNames`` order):

=====================  ====  =================================================================
``base_ang_vel``        3    IMU gyro, rad/s, base frame [``base_angular_velocity``, ``ang_vel``]
``projected_gravity``   3    gravity direction in the base frame from the (w,x,y,z) quaternion
``velocity_command``    3    (vx, vy, wz) [``velocity_commands``, ``command``, ``commands``]
``joint_pos``           n    q - ``defaultJointPositions`` [``joint_pos_rel``, ``dof_pos``]
``joint_vel``           n    dq [``joint_vel_rel``, ``dof_vel``]
``last_action``         n    previous raw action, zeros after reset [``actions``, ``prev_action``]
``gait_phase``          2    sin, cos of 2 pi phase, phase = (t mod ``gaitPeriod``) / ``gaitPeriod``
``gait_phase_sin``      1    the sin half alone [``sin_phase``]
``gait_phase_cos``      1    the cos half alone [``cos_phase``]
=====================  ====  =================================================================

Unknown names or sizes that do not match raise :class:`OnnxMetadataConfigError` at load. The
action maps to joint targets ``defaultJointPositions + actionScale x action`` (defaults 0 and 1).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.policies.base import PolicyLoadError
from runtime.policies.onnx_metadata.configuration_onnx_metadata import (
    OnnxMetadataConfig,
    OnnxMetadataConfigError,
    parse_onnx_metadata_config,
)
from runtime.policies.onnx_metadata.loader import parse_config_json
from runtime.policies.onnx_metadata.locomotion import GAIT_PERIOD, gait_phase, projected_gravity, vector
from runtime.policies.onnx_metadata.onnx_model import describe_session, load_onnx_session
from runtime.policies.onnx_metadata.stepper import (
    OnnxStepper,
    SteppedOnnxPolicy,
    UnpairedStateInput,
    pair_recurrent_state,
)

POLICY_FILE = "policy.onnx"
CONFIG_FILE = "config.json"
ArrayLike = np.ndarray | list[float] | tuple[float, ...]

# canonical name -> (size, None meaning one per action; aliases)
COMPONENTS: dict[str, tuple[int | None, tuple[str, ...]]] = {
    "base_ang_vel": (3, ("base_angular_velocity", "ang_vel")),
    "projected_gravity": (3, ()),
    "velocity_command": (3, ("velocity_commands", "command", "commands")),
    "joint_pos": (None, ("joint_pos_rel", "dof_pos")),
    "joint_vel": (None, ("joint_vel_rel", "dof_vel")),
    "last_action": (None, ("actions", "prev_action")),
    "gait_phase": (2, ()),
    "gait_phase_sin": (1, ("sin_phase",)),
    "gait_phase_cos": (1, ("cos_phase",)),
}
_CANONICAL = {alias: name for name, (_, aliases) in COMPONENTS.items() for alias in (name, *aliases)}


@dataclass(frozen=True)
class ObservationTerm:
    """One resolved ``observationLayout`` entry: its slice of the observation and its scale."""

    name: str  # as written in the layout
    component: str  # canonical name
    start: int
    size: int
    scale: np.ndarray


@dataclass(frozen=True)
class JointTargets:
    """Joint position targets (``jointNames`` order), the raw action and the observation that gave it."""

    q: np.ndarray
    action: np.ndarray
    observation: np.ndarray


def resolve_observation(config: OnnxMetadataConfig) -> tuple[ObservationTerm, ...]:
    """Map ``observationLayout`` to supported components; ``OnnxMetadataConfigError`` on unknown names/sizes."""
    n, scales, terms, start = config.action_dim, config.observation_scales or {}, [], 0
    unknown = [t.name for t in config.observation_layout if t.name.lower() not in _CANONICAL]
    if unknown:
        raise OnnxMetadataConfigError(
            f"observationLayout names {', '.join(map(repr, unknown))} are not supported by the onnx_metadata_v1 "
            f"runtime (supported: {', '.join(COMPONENTS)})"
        )
    for t in config.observation_layout:
        component = _CANONICAL[t.name.lower()]
        expected = COMPONENTS[component][0] or n
        if t.size != expected:
            raise OnnxMetadataConfigError(
                f"observationLayout term {t.name!r} has size {t.size} but {component} has {expected} values"
                + ("" if COMPONENTS[component][0] else f" (one per action; actionLayout adds up to {n})")
            )
        scale = np.broadcast_to(np.asarray(scales.get(t.name, 1.0), dtype=np.float64), (t.size,)).copy()
        terms.append(ObservationTerm(t.name, component, start, t.size, scale))
        start += t.size
    return tuple(terms)


def _state_pairs(session: Any, config: OnnxMetadataConfig) -> tuple[tuple[str, str], ...]:
    info = describe_session(session)
    extra = [t for t in info.inputs if t.name != config.observation_input]
    rest = [t for t in info.outputs if t.name != config.action_output]
    try:
        return pair_recurrent_state(extra, rest)
    except UnpairedStateInput as exc:
        free = ", ".join(t.describe() for t in exc.free_outputs) or "none"
        raise OnnxMetadataConfigError(
            f"model input {exc.tensor.describe()} is neither the observation nor a recurrent state with a "
            f"matching output (unpaired outputs: {free})"
        ) from None


class OnnxMetadataPolicy(SteppedOnnxPolicy):
    """An ``onnx_metadata_v1`` policy; stateful (previous action, recurrent state)."""

    kind = "onnx_metadata_v1"

    def __init__(self, session: Any, config: OnnxMetadataConfig) -> None:
        config = config.bind(describe_session(session))
        self.config = config
        self.terms = resolve_observation(config)
        n = config.action_dim
        self._init_stepper(
            OnnxStepper(session, config.observation_input, config.action_output, _state_pairs(session, config), n), n
        )
        self.default_joint_positions = np.asarray(config.default_joint_positions or np.zeros(n), dtype=np.float64)
        scale = 1.0 if config.action_scale is None else config.action_scale
        self.action_scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (n,)).copy()
        self.gait_period = config.gait_period or GAIT_PERIOD

    @classmethod
    def from_model(
        cls, model: bytes | str | os.PathLike, config: str | Mapping[str, Any] | None = None, threads: int = 1
    ) -> OnnxMetadataPolicy:
        """Load ``model`` with ``config`` (JSON text or mapping) over the model's metadata properties."""
        session = load_onnx_session(model, threads)
        raw = parse_config_json(config) if isinstance(config, str) else config
        return cls(session, parse_onnx_metadata_config(raw, describe_session(session).metadata))

    @property
    def joint_names(self) -> tuple[str, ...] | None:
        return self.config.joint_names

    def observation(
        self,
        joint_pos: ArrayLike,
        joint_vel: ArrayLike,
        quat: ArrayLike,
        gyro: ArrayLike,
        command: ArrayLike,
        t: float,
    ) -> np.ndarray:
        """The float32 observation (no side effects); joint arrays hold one value per action, in order."""
        n = self.config.action_dim
        sources: dict[str, Callable[[], np.ndarray]] = {
            "base_ang_vel": lambda: vector(gyro, 3, "gyro"),
            "projected_gravity": lambda: projected_gravity(quat),
            "velocity_command": lambda: vector(command, 3, "command (vx, vy, wz)"),
            "joint_pos": lambda: vector(joint_pos, n, "joint_pos") - self.default_joint_positions,
            "joint_vel": lambda: vector(joint_vel, n, "joint_vel"),
            "last_action": lambda: self._last_action.astype(np.float64),
            "gait_phase": lambda: gait_phase(t, self.gait_period),
            "gait_phase_sin": lambda: gait_phase(t, self.gait_period)[:1],
            "gait_phase_cos": lambda: gait_phase(t, self.gait_period)[1:],
        }
        obs = np.empty(self.config.obs_dim, dtype=np.float64)
        for term in self.terms:
            obs[term.start : term.start + term.size] = sources[term.component]() * term.scale
        return obs.astype(np.float32)

    def step(
        self,
        joint_pos: ArrayLike,
        joint_vel: ArrayLike,
        quat: ArrayLike,
        gyro: ArrayLike,
        command: ArrayLike,
        t: float,
    ) -> JointTargets:
        """Run the policy once; raises ``NonFiniteError`` (nothing updated) on NaN/inf."""
        obs = self.observation(joint_pos, joint_vel, quat, gyro, command, t)
        action = self._run(obs)
        q = self.default_joint_positions + self.action_scale * action.astype(np.float64)
        return JointTargets(q, action.copy(), obs)


def load_metadata_policy(path: str | os.PathLike, threads: int = 1) -> OnnxMetadataPolicy:
    """A policy directory (``policy.onnx`` + optional ``config.json``) or a bare ``.onnx`` (metadata only)."""
    root = Path(path).expanduser()
    if root.is_file():
        return OnnxMetadataPolicy.from_model(root, None, threads)
    model = root / POLICY_FILE
    if not model.is_file():
        raise PolicyLoadError(f"{str(root)!r} is not an onnx_metadata_v1 policy: no {POLICY_FILE}")
    config_file = root / CONFIG_FILE
    config = parse_config_json(config_file.read_text()) if config_file.is_file() else None
    return OnnxMetadataPolicy.from_model(model, config, threads)
