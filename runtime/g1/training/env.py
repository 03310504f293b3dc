"""A batch of MuJoCo G1s stepped in Python for PPO (12 leg actions; waist and arms held or welded).

Physics ``sim_dt`` 0.005 s, ``decimation`` 4: one policy step is 0.02 s (50 Hz), like
``unitree_rl_gym``. The leg PD law of the deploy config (``kps``/``kds`` around ``action x
action_scale + default_angles``, torques clipped at the G1 limits) runs inside MuJoCo as affine
actuators, so ``mj_step(nstep=decimation)`` does the whole control period in C. By default the
waist and arms are driven to ``arm_waist_target`` by the deploy ``arm_waist`` gains (29 DoF, as
the adapter does on the robot); ``weld_upper_body=True`` welds them there instead (12 DoF, ~1.6x
faster, but policies trained so can fall once the torso sways). Only the feet collide
with the floor (the meshes are costly); a fall (pelvis low or tilted) ends the episode anyway.

The policy observation is the deploy adapter's (:func:`build_observations`, checked value by value
against :meth:`UnitreeVelocityPolicy.observation` by the tests); the critic also sees privileged
terms (base linear velocity, height, foot contacts, friction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from runtime.g1.velocity_policy_init import deploy_config
from runtime.policies.onnx_metadata.locomotion import GAIT_PERIOD
from runtime.policies.unitree_velocity.configuration_unitree_velocity import (
    UnitreeVelocityConfig,
    parse_unitree_velocity_config,
)
from runtime.sim.g1_model import G1_DOF, G1_STAND_POSE, G1Model, build_g1_model

NUM_PRIVILEGED = 7
FOOT_BODIES = ("left_ankle_roll_link", "right_ankle_roll_link")


@dataclass
class EnvConfig:
    """Episode, command, randomisation and termination settings."""

    num_envs: int = 32
    sim_dt: float = 0.005
    decimation: int = 4
    episode_s: float = 20.0
    vx_range: tuple[float, float] = (-0.3, 0.5)
    vy_range: tuple[float, float] = (-0.2, 0.2)
    wz_range: tuple[float, float] = (-0.5, 0.5)
    zero_command_share: float = 0.25
    command_resample_s: float = 8.0
    tracking_sigma: float = 0.25
    """Width of the velocity-tracking rewards: exp(-error^2 / sigma)."""
    command_level: float = 1.0
    """Scales the command ranges (a curriculum: 0 = always stand)."""
    friction_range: tuple[float, float] = (0.5, 1.25)
    push_interval_s: float = 6.0
    push_velocity: float = 0.4
    init_joint_noise: float = 0.05
    init_velocity_noise: float = 0.1
    min_height: float = 0.55
    max_tilt_gz: float = -0.7
    """Projected gravity z above this (tilt beyond ~45 degrees) ends the episode."""
    action_clip: float = 10.0
    weld_upper_body: bool = False
    deploy: dict = field(default_factory=deploy_config)

    @property
    def control_dt(self) -> float:
        return self.sim_dt * self.decimation

    @property
    def max_episode_steps(self) -> int:
        return round(self.episode_s / self.control_dt)


def build_observations(
    config: UnitreeVelocityConfig,
    gyro: np.ndarray,
    quat: np.ndarray,
    command: np.ndarray,
    q_leg: np.ndarray,
    dq_leg: np.ndarray,
    last_action: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """The adapter's 47-value observation for a batch (rows are envs), float32.

    Same terms, order and scaling as :meth:`UnitreeVelocityPolicy.observation` (command clipped to
    ``max_cmd``, gravity from the (w, x, y, z) IMU quaternion, gait clock ``(t mod 0.8) / 0.8``).
    """
    n = config.num_actions
    max_cmd = config.raw.get("max_cmd")
    cmd = command if max_cmd is None else np.clip(command, -np.abs(max_cmd), np.abs(max_cmd))
    qn = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    w, x, y, z = qn.T
    grav = np.stack([2.0 * (-z * x + w * y), -2.0 * (z * y + w * x), 1.0 - 2.0 * (w * w + z * z)], axis=1)
    phase = np.mod(t, GAIT_PERIOD) / GAIT_PERIOD
    obs = np.empty((len(gyro), config.num_obs), dtype=np.float64)
    obs[:, 0:3] = gyro * config.ang_vel_scale
    obs[:, 3:6] = grav
    obs[:, 6:9] = cmd * np.asarray(config.cmd_scale)
    obs[:, 9 : 9 + n] = (q_leg - np.asarray(config.default_angles)) * config.dof_pos_scale
    obs[:, 9 + n : 9 + 2 * n] = dq_leg * config.dof_vel_scale
    obs[:, 9 + 2 * n : 9 + 3 * n] = last_action
    obs[:, 9 + 3 * n] = np.sin(2.0 * np.pi * phase)
    obs[:, 9 + 3 * n + 1] = np.cos(2.0 * np.pi * phase)
    return obs.astype(np.float32)


def quat_rotate_inverse(quat: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate world vectors ``v`` (N, 3) into the frames of (w, x, y, z) quaternions ``quat`` (N, 4)."""
    w, u = quat[:, :1], -quat[:, 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def training_pose(config: UnitreeVelocityConfig) -> np.ndarray:
    """Initial pose (motor order): legs at ``default_angles``, upper body at ``arm_waist_target``."""
    pose = np.zeros(G1_DOF)
    pose[:] = G1_STAND_POSE
    pose[: config.num_actions] = config.default_angles
    target = config.raw.get("arm_waist_target")
    idx = config.raw.get("arm_waist_joint2motor_idx")
    if target is not None and idx is not None:
        pose[np.asarray(idx)] = target
    return pose


def _gains(config: UnitreeVelocityConfig, motors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kp, kd per actuated motor: legs from ``kps``/``kds``, waist and arms from ``arm_waist_k*``."""
    n = config.num_actions
    kp, kd = np.zeros(len(motors)), np.zeros(len(motors))
    kp[:n], kd[:n] = config.kps[:n], config.kds[:n]
    raw = config.raw
    slots = {int(motor): k for k, motor in enumerate(motors)}
    for j, motor in enumerate(raw.get("arm_waist_joint2motor_idx", [])):
        if motor in slots:
            kp[slots[motor]], kd[slots[motor]] = raw["arm_waist_kps"][j], raw["arm_waist_kds"][j]
    return kp, kd


def build_training_model(
    config: UnitreeVelocityConfig, sim_dt: float, weld_upper_body: bool = True
) -> tuple[G1Model, mujoco.MjModel]:
    """The G1 with PD actuators (deploy gains) and feet-only floor contacts; legs are actuators 0..n-1."""
    g1 = build_g1_model(weld_upper_body=weld_upper_body, initial_q=training_pose(config))
    m, n = g1.model, config.num_actions
    legs = list(config.leg_joint2motor_idx or range(n))
    if legs != list(range(n)) or list(g1.motors[:n]) != legs or (weld_upper_body and g1.dof != n):
        raise ValueError(f"training needs the {n} leg motors first (model motors {g1.motors.tolist()})")
    m.opt.timestep = sim_dt
    kp, kd = _gains(config, g1.motors)
    m.actuator_gaintype[:] = mujoco.mjtGain.mjGAIN_FIXED
    m.actuator_biastype[:] = mujoco.mjtBias.mjBIAS_AFFINE
    m.actuator_gainprm[:, 0] = kp
    m.actuator_biasprm[:, :3] = np.stack([np.zeros_like(kp), -kp, -kd], axis=1)
    m.actuator_ctrllimited[:] = 0  # ctrl is now a position target; the torque is limited instead
    m.actuator_forcelimited[:] = 1
    m.actuator_forcerange[:] = g1.tau_limit
    feet = {m.body(name).id for name in FOOT_BODIES}
    for g in range(m.ngeom):
        if m.geom_bodyid[g] in feet:
            m.geom_friction[g, 0] = 0.3  # contacts take the larger friction: the (randomised) floor's
        elif m.geom_bodyid[g] != 0:
            m.geom_contype[g] = 0
            m.geom_conaffinity[g] = 0
    return g1, m


class G1VelocityEnv:
    """``num_envs`` G1s; :meth:`step` takes (N, 12) actions and returns observations, rewards, dones."""

    def __init__(self, cfg: EnvConfig | None = None, seed: int = 0) -> None:
        from runtime.g1.training.rewards import RewardScales

        self.cfg = cfg or EnvConfig()
        self.config = parse_unitree_velocity_config(self.cfg.deploy)
        self.rng = np.random.default_rng(seed)
        self.g1, base = build_training_model(self.config, self.cfg.sim_dt, self.cfg.weld_upper_body)
        self.model = base  # shared; the floor friction of env i is set before stepping it
        self.datas = [mujoco.MjData(base) for _ in range(self.cfg.num_envs)]
        self.scales = RewardScales()
        n, a = self.cfg.num_envs, self.config.num_actions
        self.num_envs, self.num_actions = n, a
        self.num_obs = self.config.num_obs
        self.num_critic_obs = self.num_obs + NUM_PRIVILEGED
        self.default = np.asarray(self.config.default_angles)
        self.floor_geom = int(
            np.flatnonzero((base.geom_bodyid == 0) & (base.geom_type == mujoco.mjtGeom.mjGEOM_PLANE))[0]
        )
        self.foot_bodies = np.array([base.body(b).id for b in FOOT_BODIES])
        self.foot_geom_side = np.full(base.ngeom, -1)
        for side, body in enumerate(self.foot_bodies):
            self.foot_geom_side[base.geom_bodyid == body] = side
        jids = [base.joint(name).id for name in self.g1.joint_names[:a]]
        self.joint_range = base.jnt_range[jids].copy()
        s = self.g1.sensors
        self._s = {k: slice(s[k].start, s[k].start + a) for k in ("q", "dq", "tau")}  # the leg motors
        self._s |= {k: s[k] for k in ("imu_quat", "imu_gyro")}
        self.hold = training_pose(self.config)[self.g1.motors]  # ctrl at reset: legs default, upper body target
        self.friction = np.ones(n)
        self.commands = np.zeros((n, 3))
        self.actions = np.zeros((n, a))
        self.last_actions = np.zeros((n, a))
        self.last_dq = np.zeros((n, a))
        self.episode_step = np.zeros(n, dtype=np.int64)
        self.episode_return = np.zeros(n)
        self._read_buffers()
        for i in range(n):
            self._reset_env(i)
        self.foot_z0 = float(self.foot_pos[0, :, 2].mean())
        self._read_all()

    # --- state -------------------------------------------------------------------------

    def _read_buffers(self) -> None:
        n, a = self.cfg.num_envs, self.config.num_actions
        self.qpos = np.zeros((n, self.model.nq))
        self.qvel = np.zeros((n, self.model.nv))
        self.q, self.dq, self.tau = np.zeros((n, a)), np.zeros((n, a)), np.zeros((n, a))
        self.imu_quat, self.gyro = np.zeros((n, 4)), np.zeros((n, 3))
        self.contact = np.zeros((n, 2), dtype=bool)
        self.air_time = np.zeros((n, 2))
        self.touchdown_air_time = np.zeros((n, 2))
        """Air time of the feet that touched down this step (0 elsewhere), for ``feet_air_time``."""
        self.foot_pos = np.zeros((n, 2, 3))
        self.foot_vel = np.zeros((n, 2, 3))

    def _read(self, i: int) -> None:
        d, s = self.datas[i], self._s
        self.qpos[i], self.qvel[i] = d.qpos, d.qvel
        sd = d.sensordata
        self.q[i], self.dq[i], self.tau[i] = sd[s["q"]], sd[s["dq"]], sd[s["tau"]]
        self.imu_quat[i], self.gyro[i] = sd[s["imu_quat"]], sd[s["imu_gyro"]]
        self.contact[i] = False
        if d.ncon:
            geoms = d.contact.geom[: d.ncon]
            for side in (0, 1):
                self.contact[i, side] = bool((self.foot_geom_side[geoms] == side).any())
        pos = d.xpos[self.foot_bodies]
        self.foot_vel[i] = (pos - self.foot_pos[i]) / self.cfg.control_dt
        self.foot_pos[i] = pos

    def _read_all(self) -> None:
        for i in range(self.num_envs):
            self._read(i)

    @property
    def base_quat(self) -> np.ndarray:
        return self.qpos[:, 3:7]

    @property
    def base_height(self) -> np.ndarray:
        return self.qpos[:, 2]

    @property
    def lin_vel(self) -> np.ndarray:
        """Pelvis linear velocity in the pelvis frame (m/s)."""
        return quat_rotate_inverse(self.base_quat, self.qvel[:, 0:3])

    @property
    def ang_vel(self) -> np.ndarray:
        """Pelvis angular velocity in the pelvis frame (rad/s; a free joint's qvel is local)."""
        return self.qvel[:, 3:6]

    @property
    def gravity(self) -> np.ndarray:
        return quat_rotate_inverse(self.base_quat, np.tile([0.0, 0.0, -1.0], (self.num_envs, 1)))

    @property
    def time(self) -> np.ndarray:
        return self.episode_step * self.cfg.control_dt

    def observations(self) -> np.ndarray:
        return build_observations(
            self.config, self.gyro, self.imu_quat, self.commands, self.q, self.dq, self.actions, self.time
        )

    def critic_observations(self, obs: np.ndarray) -> np.ndarray:
        priv = np.concatenate(
            [
                self.lin_vel * 2.0,
                (self.base_height - 0.78)[:, None] * 5.0,
                self.contact.astype(np.float64),
                self.friction[:, None] - 1.0,
            ],
            axis=1,
        )
        return np.concatenate([obs, priv.astype(np.float32)], axis=1)

    # --- episodes ----------------------------------------------------------------------

    def sample_commands(self, idx: np.ndarray) -> None:
        c, k = self.cfg, len(idx)
        if k == 0:
            return
        lvl = c.command_level
        cmd = np.stack(
            [self.rng.uniform(lvl * lo, lvl * hi, k) for lo, hi in (c.vx_range, c.vy_range, c.wz_range)], axis=1
        )
        cmd[np.linalg.norm(cmd[:, :2], axis=1) < 0.1, :2] = 0.0
        cmd[np.abs(cmd[:, 2]) < 0.1, 2] = 0.0
        cmd[self.rng.random(k) < c.zero_command_share] = 0.0
        self.commands[idx] = cmd

    def _reset_env(self, i: int) -> None:
        m, d, c, rng = self.model, self.datas[i], self.cfg, self.rng
        mujoco.mj_resetData(m, d)
        qpos = self.g1.init_qpos.copy()
        qpos[self.g1.qadr[: self.num_actions]] += rng.uniform(-c.init_joint_noise, c.init_joint_noise, self.num_actions)
        yaw = rng.uniform(-np.pi, np.pi)
        qpos[3:7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
        d.qpos[:] = qpos
        d.qvel[:6] = rng.uniform(-c.init_velocity_noise, c.init_velocity_noise, 6)
        self.friction[i] = rng.uniform(*c.friction_range)
        d.ctrl[:] = self.hold
        mujoco.mj_forward(m, d)
        self.actions[i] = self.last_actions[i] = 0.0
        self.episode_step[i] = 0
        self.episode_return[i] = 0.0
        self.sample_commands(np.array([i]))
        self.foot_pos[i] = d.xpos[self.foot_bodies]
        self._read(i)
        self.foot_vel[i] = 0.0
        self.last_dq[i] = self.dq[i]
        self.air_time[i] = self.touchdown_air_time[i] = 0.0

    def reset(self) -> tuple[np.ndarray, np.ndarray]:
        for i in range(self.num_envs):
            self._reset_env(i)
        obs = self.observations()
        return obs, self.critic_observations(obs)

    def _push(self) -> None:
        every = max(1, round(self.cfg.push_interval_s / self.cfg.control_dt))
        for i in np.flatnonzero((self.episode_step % every == 0) & (self.episode_step > 0)):
            self.datas[i].qvel[:2] += self.rng.uniform(-self.cfg.push_velocity, self.cfg.push_velocity, 2)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Apply actions for one control period; returns obs, critic obs, reward, done, time-out, info.

        Envs that end are reset at once: the returned observations are their first ones.
        """
        from runtime.g1.training.rewards import compute_rewards

        c = self.cfg
        self.last_actions[:] = self.actions
        self.actions[:] = np.clip(actions, -c.action_clip, c.action_clip)
        self.last_dq[:] = self.dq
        targets = self.actions * self.config.action_scale + self.default
        friction = self.model.geom_friction[self.floor_geom]
        for i in range(self.num_envs):
            d = self.datas[i]
            d.ctrl[: self.num_actions] = targets[i]
            friction[0] = self.friction[i]
            mujoco.mj_step(self.model, d, nstep=c.decimation)
            self._read(i)
        self.episode_step += 1
        self.air_time += c.control_dt
        self.touchdown_air_time[:] = np.where(self.contact & (self.air_time > c.control_dt), self.air_time, 0.0)
        self.air_time[self.contact] = 0.0
        gz = self.gravity[:, 2]
        finite = np.isfinite(self.qpos).all(axis=1) & np.isfinite(self.qvel).all(axis=1)
        fell = (self.base_height < c.min_height) | (gz > c.max_tilt_gz) | ~finite
        timeout = (self.episode_step >= c.max_episode_steps) & ~fell
        reward, terms = compute_rewards(self, fell, self.scales, c.control_dt)
        self.episode_return += reward
        done = fell | timeout
        info = {
            "terms": terms,
            "tracking_error": np.linalg.norm(self.lin_vel[:, :2] - self.commands[:, :2], axis=1),
            "done_lengths": self.episode_step[done].copy(),
            "done_returns": self.episode_return[done].copy(),
            "fell": fell,
        }
        resample = max(1, round(c.command_resample_s / c.control_dt))
        self.sample_commands(np.flatnonzero((self.episode_step % resample == 0) & ~done))
        self._push()
        for i in np.flatnonzero(done):
            self._reset_env(i)
        obs = self.observations()
        return obs, self.critic_observations(obs), reward, done, timeout, info
