"""Runtime adapter for ``unitree_velocity_g1_v0``: Unitree's G1 velocity policy, one 50 Hz step at a time.

Semantics follow ``unitree_rl_gym`` ``deploy/deploy_real/deploy_real.py``. The observation
(``num_obs = 9 + 3 * num_actions + 2``, 47 for 12 leg joints), in order:

======================  ====  =================================================================
base angular velocity    3    IMU gyro (rad/s, base frame) x ``ang_vel_scale``
projected gravity        3    ``[2(-zx + wy), -2(zy + wx), 1 - 2(w^2 + z^2)]`` from the IMU (w,x,y,z)
command                  3    (vx, vy, wz), clipped to +-``max_cmd`` when given, x ``cmd_scale``
joint positions          n    (q - ``default_angles``) x ``dof_pos_scale``, leg motors in action order
joint velocities         n    dq x ``dof_vel_scale``
previous action          n    the raw policy output of the last step (zeros after :meth:`reset`)
gait phase               2    sin, cos of 2 pi phase, phase = (t mod 0.8) / 0.8
======================  ====  =================================================================

Leg targets are ``action x action_scale + default_angles``; arm and waist motors hold
``arm_waist_target`` with their own gains (see :mod:`.motor_layout`). The IMU must be the pelvis
IMU (G1); ``imu_type: torso`` is refused. ``t`` is the time since RUN started for this control tick
(Unitree's deploy loop uses ``(k + 1) x control_dt`` at tick ``k``, one tick ahead of ``t = k x
control_dt``; the difference is 2.5% of a gait cycle).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.policies.base import PolicyLoadError
from runtime.policies.onnx_metadata.locomotion import GAIT_PERIOD, gait_phase, projected_gravity, vector
from runtime.policies.onnx_metadata.onnx_model import describe_session, load_onnx_session
from runtime.policies.onnx_metadata.stepper import OnnxStepper, SteppedOnnxPolicy
from runtime.policies.unitree_velocity.configuration_unitree_velocity import (
    G1_NUM_MOTORS,
    UnitreeVelocityConfig,
    UnitreeVelocityConfigError,
    parse_unitree_velocity_config,
)
from runtime.policies.unitree_velocity.g1 import G1_MOTOR_NAMES
from runtime.policies.unitree_velocity.loader import UnitreeModelBinding, bind_unitree_model
from runtime.policies.unitree_velocity.motor_layout import MotorLayout, motor_layout

POLICY_FILE = "policy.onnx"
DEPLOY_FILE = "deploy.yaml"
ArrayLike = np.ndarray | list[float] | tuple[float, ...]


@dataclass(frozen=True)
class MotorTargets:
    """One lowcmd frame for all 29 G1 motors (motor order): position target, stiffness, damping.

    ``action`` is the raw policy output and ``observation`` what the policy saw (None for
    :meth:`UnitreeVelocityPolicy.default_targets`).
    """

    q: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    action: np.ndarray
    observation: np.ndarray | None = None


def check_runtime_config(config: UnitreeVelocityConfig) -> None:
    """What the runtime needs beyond the publish validator: Unitree's observation size, a pelvis IMU."""
    expected = 9 + 3 * config.num_actions + 2
    if config.num_obs != expected:
        raise UnitreeVelocityConfigError(
            f"num_obs is {config.num_obs} but the unitree_velocity_g1_v0 observation for {config.num_actions} "
            f"actions has 9 + 3 x {config.num_actions} + 2 = {expected} values"
        )
    imu_type = config.raw.get("imu_type", "pelvis")
    if imu_type != "pelvis":
        raise UnitreeVelocityConfigError(f"imu_type {imu_type!r} is not supported (the G1 runtime uses the pelvis IMU)")


class UnitreeVelocityPolicy(SteppedOnnxPolicy):
    """A G1 velocity-tracking ONNX policy with its deploy config; stateful (previous action, RNN state)."""

    kind = "unitree_velocity_g1_v0"

    def __init__(self, session: Any, config: UnitreeVelocityConfig, binding: UnitreeModelBinding) -> None:
        check_runtime_config(config)
        self.config = config
        self.binding = binding
        self.layout: MotorLayout = motor_layout(config)
        self._init_stepper(
            OnnxStepper(session, binding.obs_input, binding.action_output, binding.state, config.num_actions),
            config.num_actions,
        )
        self._cmd_scale = np.asarray(config.cmd_scale, dtype=np.float64)
        max_cmd = config.raw.get("max_cmd")
        self.max_cmd = None if max_cmd is None else np.abs(np.asarray(max_cmd, dtype=np.float64))

    @classmethod
    def from_model(
        cls, model: bytes | str | os.PathLike, deploy_config: str | dict[str, Any], threads: int = 1
    ) -> UnitreeVelocityPolicy:
        """Load ``model`` (ONNX bytes or path) with its deploy YAML (text or mapping)."""
        config = parse_unitree_velocity_config(deploy_config)
        session = load_onnx_session(model, threads)
        return cls(session, config, bind_unitree_model(config, describe_session(session)))

    @property
    def leg_joint_names(self) -> tuple[str, ...]:
        return tuple(G1_MOTOR_NAMES[i] for i in self.layout.leg_motors)

    def clip_command(self, command: ArrayLike) -> np.ndarray:
        """(vx, vy, wz) limited to +-``max_cmd`` per axis when the config gives it."""
        cmd = vector(command, 3, "command (vx, vy, wz)")
        return cmd if self.max_cmd is None else np.clip(cmd, -self.max_cmd, self.max_cmd)

    def observation(
        self, q: ArrayLike, dq: ArrayLike, quat: ArrayLike, gyro: ArrayLike, command: ArrayLike, t: float
    ) -> np.ndarray:
        """The float32 observation for this state (no side effects). ``q``/``dq``: 29 motors, motor order."""
        c, n, legs = self.config, self.config.num_actions, self.layout.leg_motors
        q = vector(q, G1_NUM_MOTORS, "q")
        dq = vector(dq, G1_NUM_MOTORS, "dq")
        obs = np.empty(c.num_obs, dtype=np.float64)
        obs[0:3] = vector(gyro, 3, "gyro") * c.ang_vel_scale
        obs[3:6] = projected_gravity(quat)
        obs[6:9] = self.clip_command(command) * self._cmd_scale
        obs[9 : 9 + n] = (q[legs] - self.layout.default_angles) * c.dof_pos_scale
        obs[9 + n : 9 + 2 * n] = dq[legs] * c.dof_vel_scale
        obs[9 + 2 * n : 9 + 3 * n] = self._last_action
        obs[9 + 3 * n :] = gait_phase(t, GAIT_PERIOD)
        return obs.astype(np.float32)

    def step(
        self, q: ArrayLike, dq: ArrayLike, quat: ArrayLike, gyro: ArrayLike, command: ArrayLike, t: float
    ) -> MotorTargets:
        """Run the policy once; the 29-motor targets for the lowcmd node.

        Raises :class:`~runtime.policies.onnx_metadata.stepper.NonFiniteError` when the observation
        or the model's output holds NaN/inf; the previous action and recurrent state are then kept.
        """
        obs = self.observation(q, dq, quat, gyro, command, t)
        return self._targets(self._run(obs), obs)

    def default_targets(self) -> MotorTargets:
        """Targets for a zero action: legs at ``default_angles``, arms and waist at their targets."""
        return self._targets(np.zeros(self.config.num_actions, dtype=np.float32), None)

    def _targets(self, action: np.ndarray, obs: np.ndarray | None) -> MotorTargets:
        lay = self.layout
        q = np.zeros(G1_NUM_MOTORS)
        kp = np.zeros(G1_NUM_MOTORS)
        kd = np.zeros(G1_NUM_MOTORS)
        q[lay.leg_motors] = action.astype(np.float64) * self.config.action_scale + lay.default_angles
        kp[lay.leg_motors], kd[lay.leg_motors] = lay.leg_kp, lay.leg_kd
        q[lay.arm_waist_motors] = lay.arm_waist_target
        kp[lay.arm_waist_motors], kd[lay.arm_waist_motors] = lay.arm_waist_kp, lay.arm_waist_kd
        return MotorTargets(q, kp, kd, action.copy(), obs)


def load_velocity_policy(policy_dir: str | os.PathLike, threads: int = 1) -> UnitreeVelocityPolicy:
    """Load ``policy.onnx`` + ``deploy.yaml`` from a policy directory (validated as the cloud does)."""
    root = Path(policy_dir).expanduser()
    missing = [name for name in (POLICY_FILE, DEPLOY_FILE) if not (root / name).is_file()]
    if missing:
        raise PolicyLoadError(
            f"{str(root)!r} is not a unitree_velocity_g1_v0 policy directory: no {', '.join(missing)}"
        )
    return UnitreeVelocityPolicy.from_model(root / POLICY_FILE, (root / DEPLOY_FILE).read_text(), threads)
