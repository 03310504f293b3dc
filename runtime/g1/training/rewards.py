"""Reward terms in the spirit of unitree_rl_gym's G1 config (own formulation).

Each term maps the env's batch state to one value per env; :func:`compute_rewards` weights them by
:class:`RewardScales` and the control period (so the scales read as "per second"). Gait clock: the
left foot is in stance while ``phase < 0.55`` and the right half a period later; with a zero
command both feet should stay on the ground (stand still) and the swing-height term is off. The
swing-height term applies to every foot in its swing phase, on the ground or not, so a policy that
keeps its feet planted under a walking command pays for it (stepping is otherwise hard to discover).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from runtime.policies.onnx_metadata.locomotion import GAIT_PERIOD

if TYPE_CHECKING:
    from runtime.g1.training.env import G1VelocityEnv

BASE_HEIGHT_TARGET = 0.78
SWING_HEIGHT = 0.08
AIR_TIME_TARGET = 0.3
STANCE_SHARE = 0.55
SOFT_LIMIT = 0.9
HIP_ROLL_YAW = [1, 2, 7, 8]


@dataclass
class RewardScales:
    """Weight of each term (0 disables it); multiplied by the control period."""

    tracking_lin_vel: float = 2.0
    tracking_ang_vel: float = 0.5
    lin_vel_z: float = -2.0
    ang_vel_xy: float = -0.05
    orientation: float = -1.0
    base_height: float = -10.0
    torques: float = -1e-5
    dof_vel: float = -1e-3
    dof_acc: float = -2.5e-7
    action_rate: float = -0.01
    dof_pos_limits: float = -5.0
    alive: float = 0.15
    hip_pos: float = -1.0
    contact_no_vel: float = -0.2
    feet_swing_height: float = -20.0
    contact: float = 0.3
    feet_air_time: float = 0.0
    """legged_gym-style: at touch-down, reward air time beyond ``AIR_TIME_TARGET`` (walking commands only)."""
    termination: float = -100.0


def standing(env: G1VelocityEnv) -> np.ndarray:
    return np.linalg.norm(env.commands, axis=1) < 1e-6


def stance_mask(env: G1VelocityEnv) -> np.ndarray:
    """(N, 2) feet that the gait clock wants on the ground (both when standing)."""
    phase = np.mod(env.time, GAIT_PERIOD) / GAIT_PERIOD
    legs = np.stack([phase, np.mod(phase + 0.5, 1.0)], axis=1)
    return (legs < STANCE_SHARE) | standing(env)[:, None]


def tracking_lin_vel(env: G1VelocityEnv) -> np.ndarray:
    err = np.sum((env.commands[:, :2] - env.lin_vel[:, :2]) ** 2, axis=1)
    return np.exp(-err / env.cfg.tracking_sigma)


def tracking_ang_vel(env: G1VelocityEnv) -> np.ndarray:
    return np.exp(-((env.commands[:, 2] - env.ang_vel[:, 2]) ** 2) / env.cfg.tracking_sigma)


def lin_vel_z(env: G1VelocityEnv) -> np.ndarray:
    return env.lin_vel[:, 2] ** 2


def ang_vel_xy(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(env.ang_vel[:, :2] ** 2, axis=1)


def orientation(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(env.gravity[:, :2] ** 2, axis=1)


def base_height(env: G1VelocityEnv) -> np.ndarray:
    return (env.base_height - BASE_HEIGHT_TARGET) ** 2


def torques(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(env.tau**2, axis=1)


def dof_vel(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(env.dq**2, axis=1)


def dof_acc(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(((env.dq - env.last_dq) / env.cfg.control_dt) ** 2, axis=1)


def action_rate(env: G1VelocityEnv) -> np.ndarray:
    return np.sum((env.actions - env.last_actions) ** 2, axis=1)


def dof_pos_limits(env: G1VelocityEnv) -> np.ndarray:
    lo, hi = env.joint_range[:, 0], env.joint_range[:, 1]
    mid, half = (lo + hi) / 2, (hi - lo) / 2 * SOFT_LIMIT
    return np.sum(np.clip(np.abs(env.q - mid) - half, 0.0, None), axis=1)


def alive(env: G1VelocityEnv) -> np.ndarray:
    return np.ones(env.num_envs)


def hip_pos(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(env.q[:, HIP_ROLL_YAW] ** 2, axis=1)


def contact_no_vel(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(np.sum(env.foot_vel**2, axis=2) * env.contact, axis=1)


def feet_swing_height(env: G1VelocityEnv) -> np.ndarray:
    height = env.foot_pos[:, :, 2] - env.foot_z0
    swing = ~stance_mask(env)
    return np.sum((height - SWING_HEIGHT) ** 2 * swing, axis=1)


def contact(env: G1VelocityEnv) -> np.ndarray:
    return np.sum(env.contact == stance_mask(env), axis=1).astype(np.float64)


def feet_air_time(env: G1VelocityEnv) -> np.ndarray:
    moving = np.linalg.norm(env.commands[:, :2], axis=1) > 0.1
    return np.sum((env.touchdown_air_time - AIR_TIME_TARGET) * (env.touchdown_air_time > 0), axis=1) * moving


TERMS: dict[str, Callable[[G1VelocityEnv], np.ndarray]] = {
    name: fn
    for name, fn in globals().items()
    if name in RewardScales.__dataclass_fields__ and name != "termination" and callable(fn)
}


def override_scales(scales: RewardScales, overrides: dict[str, float]) -> RewardScales:
    """``scales`` with some weights replaced; unknown names raise ``ValueError`` naming the known ones."""
    unknown = sorted(set(overrides) - set(RewardScales.__dataclass_fields__))
    if unknown:
        raise ValueError(f"unknown reward term(s) {unknown}; known: {sorted(RewardScales.__dataclass_fields__)}")
    return replace(scales, **{k: float(v) for k, v in overrides.items()})


def compute_rewards(
    env: G1VelocityEnv, fell: np.ndarray, scales: RewardScales, dt: float
) -> tuple[np.ndarray, dict[str, float]]:
    """Total reward per env and the batch mean of each weighted term."""
    total = np.zeros(env.num_envs)
    means: dict[str, float] = {}
    for name, scale in asdict(scales).items():
        if scale == 0.0:
            continue
        value = fell.astype(np.float64) if name == "termination" else TERMS[name](env)
        weighted = value * scale * dt
        total += weighted
        means[name] = float(weighted.mean())
    return total, means
