"""Where a deploy config's policy joints and held (arm/waist) joints sit among the 29 G1 motors.

Legs: ``leg_joint2motor_idx`` (default ``0 .. num_actions-1``), with ``kps``/``kds``/
``default_angles`` given per action or per motor (29 values, indexed by motor number).
Arms and waist: ``arm_waist_joint2motor_idx`` (default: every motor the legs do not use,
``12 .. 28`` for 12 actions) held at ``arm_waist_target`` with ``arm_waist_kps``/``arm_waist_kds``;
each falls back to the 29-value ``default_angles``/``kps``/``kds`` when those are per motor, else
to Unitree's G1 deploy gains and a zero target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.policies.unitree_velocity.configuration_unitree_velocity import (
    G1_NUM_MOTORS,
    UnitreeVelocityConfig,
    UnitreeVelocityConfigError,
)
from runtime.policies.unitree_velocity.g1 import G1_DEFAULT_KDS, G1_DEFAULT_KPS


@dataclass(frozen=True)
class MotorLayout:
    """Index arrays into the 29 motors and the per-joint values that go with them (float64)."""

    leg_motors: np.ndarray
    leg_kp: np.ndarray
    leg_kd: np.ndarray
    default_angles: np.ndarray
    arm_waist_motors: np.ndarray
    arm_waist_kp: np.ndarray
    arm_waist_kd: np.ndarray
    arm_waist_target: np.ndarray

    @property
    def passive_motors(self) -> np.ndarray:
        """Motors neither driven nor held (zero gains)."""
        used = np.concatenate([self.leg_motors, self.arm_waist_motors])
        return np.setdiff1d(np.arange(G1_NUM_MOTORS), used)


def _per_leg(values: tuple[float, ...], legs: np.ndarray, num_actions: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr if arr.size == num_actions else arr[legs]


def _upper(raw: dict[str, Any], key: str, idx: np.ndarray, per_motor: tuple[float, ...] | None, fallback) -> np.ndarray:
    if key in raw:
        vals = raw[key]
        ok = isinstance(vals, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in vals
        )
        if not ok or len(vals) != idx.size:
            raise UnitreeVelocityConfigError(f"{key} must be {idx.size} finite numbers (one per arm/waist motor)")
        if key != "arm_waist_target" and any(v < 0 for v in vals):
            raise UnitreeVelocityConfigError(f"{key} must not contain negative gains")
        return np.asarray(vals, dtype=np.float64)
    if per_motor is not None:
        return np.asarray(per_motor, dtype=np.float64)[idx]
    return np.asarray(fallback, dtype=np.float64)[idx]


def motor_layout(config: UnitreeVelocityConfig) -> MotorLayout:
    """Resolve the motor mapping and gains; ``UnitreeVelocityConfigError`` when they do not fit."""
    n = config.num_actions
    legs = np.asarray(config.leg_joint2motor_idx or range(n), dtype=np.int64)
    raw = config.raw
    if "arm_waist_joint2motor_idx" in raw:
        arm = np.asarray(raw["arm_waist_joint2motor_idx"], dtype=np.int64)
    else:
        arm = np.setdiff1d(np.arange(G1_NUM_MOTORS), legs)

    def per_motor(values: tuple[float, ...]) -> tuple[float, ...] | None:
        return values if len(values) == G1_NUM_MOTORS and n != G1_NUM_MOTORS else None

    return MotorLayout(
        leg_motors=legs,
        leg_kp=_per_leg(config.kps, legs, n),
        leg_kd=_per_leg(config.kds, legs, n),
        default_angles=_per_leg(config.default_angles, legs, n),
        arm_waist_motors=arm,
        arm_waist_kp=_upper(raw, "arm_waist_kps", arm, per_motor(config.kps), G1_DEFAULT_KPS),
        arm_waist_kd=_upper(raw, "arm_waist_kds", arm, per_motor(config.kds), G1_DEFAULT_KDS),
        arm_waist_target=_upper(
            raw, "arm_waist_target", arm, per_motor(config.default_angles), np.zeros(G1_NUM_MOTORS)
        ),
    )
