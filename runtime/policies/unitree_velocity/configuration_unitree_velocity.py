"""Unitree's G1 velocity-policy deploy YAML (``unitree_rl_gym`` ``deploy/*/configs/g1.yaml``), validated.

Required keys: ``kps``, ``kds``, ``default_angles`` (one value per action, or one per G1 motor
(29) when ``leg_joint2motor_idx`` maps the actions onto motors), ``ang_vel_scale``,
``dof_pos_scale``, ``dof_vel_scale``, ``action_scale``, ``cmd_scale`` (3 values), ``num_actions``,
``num_obs``, and the control period: ``control_dt``, or ``simulation_dt`` x ``control_decimation``.
Other keys (``leg_joint2motor_idx``, ``arm_waist_*``, ``max_cmd``, ``cmd_init``, topics...) are
checked when present and kept. Pure Python; errors are ``UnitreeVelocityConfigError`` (a ValueError).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from runtime.policies.base import PolicyLoadError
from runtime.policies.unitree_velocity.g1 import G1_NUM_MOTORS

REQUIRED_KEYS = (
    "kps",
    "kds",
    "default_angles",
    "ang_vel_scale",
    "dof_pos_scale",
    "dof_vel_scale",
    "action_scale",
    "cmd_scale",
    "num_actions",
    "num_obs",
)
SCALE_KEYS = ("ang_vel_scale", "dof_pos_scale", "dof_vel_scale", "action_scale")
PER_JOINT_KEYS = ("kps", "kds", "default_angles")
MAX_CONFIG_CHARS = 1_000_000


class UnitreeVelocityConfigError(PolicyLoadError):
    """The deploy YAML is malformed, incomplete or inconsistent; the message lists every problem."""


@dataclass(frozen=True)
class UnitreeVelocityConfig:
    kps: tuple[float, ...]
    kds: tuple[float, ...]
    default_angles: tuple[float, ...]
    ang_vel_scale: float
    dof_pos_scale: float
    dof_vel_scale: float
    action_scale: float
    cmd_scale: tuple[float, float, float]
    num_actions: int
    num_obs: int
    control_dt: float
    leg_joint2motor_idx: tuple[int, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The deploy config as JSON (every YAML key kept, values checked, ``control_dt`` resolved)."""
        return {**self.raw, "control_dt": self.control_dt}


def load_deploy_yaml(text: str) -> dict[str, Any]:
    """The deploy YAML text as a mapping (safe loader)."""
    if len(text) > MAX_CONFIG_CHARS:
        raise UnitreeVelocityConfigError(f"deploy YAML is too long ({len(text)} characters)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UnitreeVelocityConfigError(f"deploy YAML does not parse: {exc}") from exc
    if not isinstance(data, dict):
        raise UnitreeVelocityConfigError("deploy YAML must be a mapping of keys (kps, kds, num_obs, ...)")
    return data


class _Checker:
    """Collects every problem so one answer tells the user everything to fix."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[str] = []

    def number(self, key: str, *, positive: bool = False) -> float:
        v = self.data.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            self.problems.append(f"{key} must be a finite number, got {v!r}")
            return math.nan
        if positive and v <= 0:
            self.problems.append(f"{key} must be > 0, got {v}")
        return float(v)

    def integer(self, key: str, *, low: int = 1, high: int | None = None) -> int:
        v = self.data.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            self.problems.append(f"{key} must be an integer {bound}, got {v!r}")
            return -1
        return v

    def numbers(self, key: str, *, nonnegative: bool = False) -> tuple[float, ...]:
        v = self.data.get(key)
        ok = isinstance(v, list) and all(
            not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x) for x in v
        )
        if not ok:
            self.problems.append(f"{key} must be a list of finite numbers, got {_short(v)}")
            return ()
        if nonnegative and any(x < 0 for x in v):
            self.problems.append(f"{key} must not contain negative gains")
        return tuple(float(x) for x in v)

    def indices(self, key: str) -> tuple[int, ...]:
        v = self.data.get(key)
        if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            self.problems.append(f"{key} must be a list of motor indices, got {_short(v)}")
            return ()
        bad = [x for x in v if not 0 <= x < G1_NUM_MOTORS]
        if bad:
            self.problems.append(f"{key} has indices outside 0..{G1_NUM_MOTORS - 1}: {bad}")
        if len(set(v)) != len(v):
            self.problems.append(f"{key} repeats a motor index")
        return tuple(v)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _control_dt(c: _Checker) -> float:
    data = c.data
    has_sim = "simulation_dt" in data and "control_decimation" in data
    if "control_dt" not in data and not has_sim:
        absent = [k for k in ("simulation_dt", "control_decimation") if k not in data]
        c.problems.append(
            f"missing control_dt (or simulation_dt and control_decimation; {' and '.join(absent)} not given)"
        )
        return math.nan
    dt = c.number("control_dt", positive=True) if "control_dt" in data else math.nan
    if has_sim:
        sim_dt = c.number("simulation_dt", positive=True)
        decimation = c.integer("control_decimation")
        derived = sim_dt * decimation
        if "control_dt" not in data:
            dt = derived
        elif decimation > 0 and math.isfinite(derived) and not math.isclose(dt, derived, rel_tol=1e-6):
            c.problems.append(
                f"control_dt {dt} disagrees with simulation_dt x control_decimation "
                f"= {sim_dt} x {decimation} = {derived:g}"
            )
    if math.isfinite(dt) and dt > 1:
        c.problems.append(f"control period {dt:g} s is longer than 1 s; control_dt is in seconds")
    return dt


def _per_joint_lengths(c: _Checker, values: dict[str, tuple[float, ...]], num_actions: int, legs: bool) -> None:
    allowed = {num_actions, G1_NUM_MOTORS} if legs else {num_actions}
    for key, vals in values.items():
        if not vals or num_actions < 1 or len(vals) in allowed:
            continue
        if len(vals) == G1_NUM_MOTORS:
            c.problems.append(
                f"{key} has {G1_NUM_MOTORS} values (one per G1 motor) but num_actions is {num_actions} and there is "
                "no leg_joint2motor_idx mapping actions to motors; add it or give one value per action"
            )
        else:
            expected = f"{num_actions} (num_actions)" + (f" or {G1_NUM_MOTORS} (all G1 motors)" if legs else "")
            c.problems.append(f"{key} has {len(vals)} values; expected {expected}")


def _arm_waist(c: _Checker, legs: tuple[int, ...]) -> None:
    if "arm_waist_joint2motor_idx" not in c.data:
        return
    idx = c.indices("arm_waist_joint2motor_idx")
    overlap = sorted(set(idx) & set(legs))
    if overlap:
        c.problems.append(f"arm_waist_joint2motor_idx and leg_joint2motor_idx share motors {overlap}")
    for key in ("arm_waist_kps", "arm_waist_kds", "arm_waist_target"):
        if key in c.data:
            vals = c.numbers(key, nonnegative=key != "arm_waist_target")
            if vals and len(vals) != len(idx):
                c.problems.append(f"{key} has {len(vals)} values but arm_waist_joint2motor_idx has {len(idx)}")


def parse_unitree_velocity_config(source: str | Mapping[str, Any]) -> UnitreeVelocityConfig:
    """Validate a deploy config (YAML text or mapping); raise with every problem found."""
    data = load_deploy_yaml(source) if isinstance(source, str) else dict(source)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise UnitreeVelocityConfigError(f"deploy YAML is missing {', '.join(missing)}")
    c = _Checker(data)
    num_actions = c.integer("num_actions", high=G1_NUM_MOTORS)
    num_obs = c.integer("num_obs")
    per_joint = {
        "kps": c.numbers("kps", nonnegative=True),
        "kds": c.numbers("kds", nonnegative=True),
        "default_angles": c.numbers("default_angles"),
    }
    scales = {k: c.number(k, positive=k == "action_scale") for k in SCALE_KEYS}
    cmd_scale = c.numbers("cmd_scale")
    if cmd_scale and len(cmd_scale) != 3:
        c.problems.append(f"cmd_scale must have 3 values (vx, vy, yaw rate), got {len(cmd_scale)}")
    for key in ("max_cmd", "cmd_init"):
        if key in data and len(c.numbers(key)) not in (0, 3):
            c.problems.append(f"{key} must have 3 values (vx, vy, yaw rate)")
    legs: tuple[int, ...] = ()
    if "leg_joint2motor_idx" in data:
        legs = c.indices("leg_joint2motor_idx")
        if legs and num_actions > 0 and len(legs) != num_actions:
            c.problems.append(f"leg_joint2motor_idx has {len(legs)} indices but num_actions is {num_actions}")
    _per_joint_lengths(c, per_joint, num_actions, "leg_joint2motor_idx" in data)
    _arm_waist(c, legs)
    control_dt = _control_dt(c)
    try:
        raw = json.loads(json.dumps(data, default=str, allow_nan=False))
    except ValueError:
        c.problems.append("values must be finite (no .nan or .inf)")
    if c.problems:
        raise UnitreeVelocityConfigError("invalid deploy YAML: " + "; ".join(c.problems))
    return UnitreeVelocityConfig(
        kps=per_joint["kps"],
        kds=per_joint["kds"],
        default_angles=per_joint["default_angles"],
        cmd_scale=(cmd_scale[0], cmd_scale[1], cmd_scale[2]),
        num_actions=num_actions,
        num_obs=num_obs,
        control_dt=control_dt,
        leg_joint2motor_idx=legs or None,
        raw=raw,
        **scales,
    )
