"""The simulated Unitree G1: ``LowCmd`` motor commands in, ``LowState`` readings out.

Every physics step each motor applies ``tau = kp (q* - q) + kd (dq* - dq) + tau_ff`` from the
latest command, clipped to its torque limit; motors in mode 0, or that the model lacks, apply
nothing. A step is ``mj_step2`` (forces, integration) then ``mj_step1`` (kinematics and sensors
of the new state), so between steps positions, velocities and the IMU orientation and rate
describe the current state, while the accelerometer and ``tau_est`` describe the step just taken.

Physics runs by hand (``step``) or in real time on its own thread (``start``), driven by
:class:`runtime.sim.realtime.RealTimeStepper` on a :class:`runtime.deadline_loop.DeadlineLoop`:
absolute deadlines, steps batched to catch up with the wall clock, a backlog over 0.1 s dropped
and counted. A callback receives a :class:`G1State` every physics step or at ``state_rate_hz``.
ROS-free: a node wraps this.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import mujoco
import numpy as np
from numpy.typing import ArrayLike

from runtime.g1.lowcmd_layout import MOTOR_CMD_FIELDS, NUM_MOTORS
from runtime.g1.orientation import quat_to_rpy
from runtime.rolling_stats import RollingStats
from runtime.sim.g1_model import G1_DOF, G1Model, build_g1_model
from runtime.sim.realtime import RealTimeSim, RealTimeStepper

_SPIN_S = 0.0002  # busy-wait before each deadline (DeadlineLoop's default 1 ms would burn half a core)
MAX_CATCH_UP_S = 0.02  # a longer stall of the sim pauses its world instead of running it open-loop to catch up


@dataclass(frozen=True)
class G1State:
    """One ``LowState``-shaped snapshot; motor arrays have the 35 ``LowState`` slots.

    Slots the model does not actuate report their welded angle (or 0), zero velocity and torque.
    ``base_*`` is ground truth of the pelvis (world frame), for tests and pages only.
    """

    tick: int
    """Milliseconds since reset (uint32); keeps counting while frozen."""
    sim_time: float
    quaternion: np.ndarray
    """IMU orientation in the world, (w, x, y, z)."""
    gyroscope: np.ndarray
    """Angular velocity in the IMU frame, rad/s."""
    accelerometer: np.ndarray
    """Specific force in the IMU frame, m/s^2 (about +9.81 on z when upright at rest)."""
    rpy: np.ndarray
    """Roll, pitch, yaw (rad) of ``quaternion``."""
    q: np.ndarray
    dq: np.ndarray
    tau_est: np.ndarray
    """Torque applied in the last step, N m."""
    base_position: np.ndarray
    base_quaternion: np.ndarray
    base_linear_velocity: np.ndarray
    frozen: bool


StateCallback = Callable[[G1State], None]


class _Command(NamedTuple):
    """The latest command restricted to the model's motors, mode 0 already zeroed."""

    q: np.ndarray
    dq: np.ndarray
    tau: np.ndarray
    kp: np.ndarray
    kd: np.ndarray


class G1Sim(RealTimeSim):
    """MuJoCo G1 driven by motor commands (35 ``LowCmd`` slots, motor order).

    ``model_xml``: any G1 MJCF whose joints follow the motor order (default: Menagerie's, see
    :func:`runtime.sim.g1_model.build_g1_model` with ``fixed_base``, ``weld_upper_body``,
    ``initial_q``, ``base_height``). ``freeze``: hold the initial pose, physics not stepping,
    until :meth:`release`. ``state_rate_hz``: how often the runner calls ``on_state`` (None:
    every physics step). ``timestep``: physics step in seconds (default: the model's).
    :meth:`step` while frozen moves only the tick. ``max_catch_up_s``: physics the runner makes up
    after a late tick (a stall of the simulator, not of the robot, so beyond this the world pauses:
    catching up 60 ms on the last command topples a walking robot; the backlog is dropped and counted).
    """

    def __init__(
        self,
        model_xml: Path | str | None = None,
        *,
        fixed_base: bool = False,
        weld_upper_body: bool = False,
        freeze: bool = False,
        initial_q: Sequence[float] | np.ndarray | None = None,
        base_height: float | None = None,
        state_rate_hz: float | None = 500.0,
        on_state: StateCallback | None = None,
        timestep: float | None = None,
        max_catch_up_s: float = MAX_CATCH_UP_S,
    ) -> None:
        if max_catch_up_s <= 0:
            raise ValueError("max_catch_up_s must be > 0")
        self.g1: G1Model = build_g1_model(
            model_xml,
            fixed_base=fixed_base,
            weld_upper_body=weld_upper_body,
            initial_q=initial_q,
            base_height=base_height,
        )
        self.model = self.g1.model
        if timestep is not None:
            if timestep <= 0:
                raise ValueError("timestep must be > 0")
            self.model.opt.timestep = timestep
        self.data = mujoco.MjData(self.model)
        self.dt = float(self.model.opt.timestep)
        if state_rate_hz is not None and state_rate_hz <= 0:
            raise ValueError("state_rate_hz must be > 0 (or None for every physics step)")
        self.state_rate_hz = min(state_rate_hz or math.inf, 1.0 / self.dt)
        self.on_state = on_state
        self._motors = self.g1.motors
        self._qadr, self._dofadr = self.g1.qadr, self.g1.dofadr
        self._tau_lo, self._tau_hi = self.g1.tau_limit[:, 0].copy(), self.g1.tau_limit[:, 1].copy()
        self._sensors = self.g1.sensors
        self._gravity = self.model.opt.gravity.copy()
        self._lock = threading.Lock()
        self._cmd = self._zero_command()
        self._frozen = freeze
        self._clock_steps = 0  # physics + held steps since reset: the tick counter

        self.steps = 0
        self.commands = 0
        self.states_published = 0
        self.step_time = RollingStats()
        self._realtime = RealTimeStepper(
            self.dt,
            self._advance,
            lambda: (self.steps, float(self.data.time)),
            name="g1-sim",
            after_tick=self._publish_state,
            spin_s=_SPIN_S,
            max_batch_s=max_catch_up_s,
        )
        self._next_publish = 0.0
        self.reset()

    # --- description --------------------------------------------------------------------

    @property
    def motors(self) -> tuple[int, ...]:
        """The motor slots this model actuates, ascending."""
        return tuple(int(m) for m in self._motors)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Model joint of each actuated motor, in :attr:`motors` order."""
        return self.g1.joint_names

    @property
    def dof(self) -> int:
        return self.g1.dof

    @property
    def fixed_base(self) -> bool:
        return self.g1.fixed_base

    @property
    def torque_limits(self) -> np.ndarray:
        """(dof, 2) lower/upper torque per actuated motor, N m."""
        return self.g1.tau_limit.copy()

    # --- commands -----------------------------------------------------------------------

    def _zero_command(self) -> _Command:
        zeros = np.zeros(self.dof)
        return _Command(zeros, zeros, zeros, zeros, zeros)

    def set_command(
        self, mode: ArrayLike, q: ArrayLike, dq: ArrayLike, tau: ArrayLike, kp: ArrayLike, kd: ArrayLike
    ) -> None:
        """Latch a motor command (arrays of up to 35 slots; missing slots are off), used from the next step.

        Raises ValueError (keeping the previous command) on non-finite values or negative gains.
        """
        fields = [self._slots(v, name) for v, name in zip((mode, q, dq, tau, kp, kd), MOTOR_CMD_FIELDS, strict=True)]
        if (fields[4] < 0).any() or (fields[5] < 0).any():
            raise ValueError("motor command: kp and kd must be >= 0")
        on = fields[0][self._motors] != 0
        q_, dq_, tau_, kp_, kd_ = (np.where(on, f[self._motors], 0.0) for f in fields[1:])
        self._cmd = _Command(q_, dq_, tau_, kp_, kd_)  # one reference swap: the physics thread sees all or nothing
        self.commands += 1

    def set_motor_command(self, motors: ArrayLike) -> None:
        """:meth:`set_command` from a ``(n <= 35, 6)`` array, columns ``mode, q, dq, tau, kp, kd``."""
        arr = np.asarray(motors, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(MOTOR_CMD_FIELDS):
            raise ValueError(f"motor command: expected shape (35, {len(MOTOR_CMD_FIELDS)}), got {arr.shape}")
        self.set_command(*arr.T)

    def clear_command(self) -> None:
        """All motors off (zero torque)."""
        self._cmd = self._zero_command()

    @staticmethod
    def _slots(values: ArrayLike, name: str) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 1 or arr.size > NUM_MOTORS:
            raise ValueError(f"motor command {name}: expected up to {NUM_MOTORS} values, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"motor command {name}: non-finite value")
        if arr.size < NUM_MOTORS:
            arr = np.concatenate([arr, np.zeros(NUM_MOTORS - arr.size)])
        return arr

    # --- state --------------------------------------------------------------------------

    @property
    def sim_time(self) -> float:
        return float(self.data.time)

    @property
    def tick(self) -> int:
        """Milliseconds since reset, physics and frozen time alike (uint32)."""
        return round(self._clock_steps * self.dt * 1000.0) & 0xFFFFFFFF

    @property
    def frozen(self) -> bool:
        return self._frozen

    def state(self) -> G1State:
        """A consistent snapshot of the sensors (safe while physics runs)."""
        with self._lock:
            sd = self.data.sensordata.copy()
            sim_time, tick, frozen = float(self.data.time), self.tick, self._frozen
        s = self._sensors
        q = self.g1.fixed_q.copy()
        dq, tau = np.zeros(NUM_MOTORS), np.zeros(NUM_MOTORS)
        q[self._motors], dq[self._motors] = sd[s["q"]], sd[s["dq"]]
        quat, gyro, acc = sd[s["imu_quat"]], sd[s["imu_gyro"]], sd[s["imu_acc"]]
        if frozen:  # held still: an IMU at rest reads gravity's reaction
            gyro = np.zeros(3)
            acc = np.zeros(3)
            conj = np.array([quat[0], -quat[1], -quat[2], -quat[3]])
            mujoco.mju_rotVecQuat(acc, -self._gravity, conj)
        else:
            tau[self._motors] = sd[s["tau"]]
        return G1State(
            tick=tick,
            sim_time=sim_time,
            quaternion=quat,
            gyroscope=gyro,
            accelerometer=acc,
            rpy=quat_to_rpy(quat),
            q=q,
            dq=dq,
            tau_est=tau,
            base_position=sd[s["base_pos"]],
            base_quaternion=sd[s["base_quat"]],
            base_linear_velocity=sd[s["base_linvel"]],
            frozen=frozen,
        )

    def base_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Ground-truth pelvis position (m) and quaternion (w, x, y, z) in the world."""
        with self._lock:
            return self.data.xpos[self.g1.root_body].copy(), self.data.xquat[self.g1.root_body].copy()

    # --- physics ------------------------------------------------------------------------

    def reset(self, freeze: bool | None = None) -> None:
        """Back to the initial pose at rest, time and tick zero, all motors off; ``freeze`` None keeps the setting."""
        with self._lock:
            mujoco.mj_resetData(self.model, self.data)
            self.data.qpos[:] = self.g1.init_qpos
            mujoco.mj_forward(self.model, self.data)
            self._cmd = self._zero_command()
            self._clock_steps = 0
            if freeze is not None:
                self._frozen = freeze

    def release(self) -> None:
        """Let physics run from the frozen pose (the latest command applies from the next step)."""
        with self._lock:
            self._frozen = False

    def _advance(self, n: int) -> None:
        """``n`` physics steps (frozen: only the tick moves)."""
        with self._lock:
            self._clock_steps += n
            if self._frozen:
                return
            start = time.perf_counter()
            for _ in range(n):
                self._physics_step(self.data)
            elapsed = time.perf_counter() - start
            self.steps += n
        self.step_time.add(elapsed / n)

    def _physics_step(self, d: mujoco.MjData) -> None:
        c = self._cmd
        tau = c.kp * (c.q - d.qpos[self._qadr]) + c.kd * (c.dq - d.qvel[self._dofadr]) + c.tau
        np.clip(tau, self._tau_lo, self._tau_hi, out=tau)
        d.ctrl[:] = tau  # one motor actuator per actuated joint, in motor order
        mujoco.mj_step2(self.model, d)
        mujoco.mj_step1(self.model, d)

    # --- real time ----------------------------------------------------------------------

    def start(self, on_state: StateCallback | None = None) -> None:
        """Step physics in real time on its own thread; ``on_state`` (if given) replaces the callback."""
        if on_state is not None:
            self.on_state = on_state
        if self.running:
            return
        self._publish_every = 1.0 / (self.state_rate_hz * self.dt)  # physics steps per published state
        self._next_publish = self._publish_every
        self._realtime.start()

    def _publish_state(self, done: int) -> None:
        """After each real-time tick (``done`` steps since start): call ``on_state`` at ``state_rate_hz``."""
        callback = self.on_state
        if callback is not None and done >= self._next_publish:
            self._next_publish += self._publish_every
            if self._next_publish <= done:  # after a catch-up: one state, not a burst
                self._next_publish = done + self._publish_every
            self.states_published += 1
            callback(self.state())  # an exception is logged and counted by the loop

    # --- figures ------------------------------------------------------------------------

    def stats(self) -> dict:
        """Physics steps/s and real-time factor (last ~2 s of the runner), dropped steps, timings."""
        step_ms = self.step_time.summary_ms()
        loop = self._realtime.loop
        lateness = loop.period_error.summary_ms() if loop is not None else {"p50_ms": None, "p99_ms": None}
        return {
            "running": self.running,
            "frozen": self._frozen,
            "fixed_base": self.fixed_base,
            "dof": self.dof,
            "timestep_s": self.dt,
            "sim_time_s": round(self.sim_time, 4),
            "tick_ms": self.tick,
            "physics_steps": self.steps,
            **self._realtime.rate_stats(),
            "skipped_ticks": 0 if loop is None else loop.skipped_ticks,
            "physics_step_ms": {k: step_ms[k] for k in ("p50_ms", "p99_ms")},
            "tick_lateness_ms": {k: lateness[k] for k in ("p50_ms", "p99_ms")},
            "state_rate_hz": self.state_rate_hz,
            "states_published": self.states_published,
            "callback_errors": 0 if loop is None else loop.tick_errors,
            "commands": self.commands,
        }

    def reset_stats(self) -> None:
        """Forget timings and counters (e.g. after warm-up)."""
        self.step_time.clear()
        self.states_published = 0
        self._realtime.reset_stats()

    def max_steps_per_s(self, steps: int = 500) -> float:
        """Physics steps/s stepping flat out (with the PD law) on a copy of the current state."""
        scratch = mujoco.MjData(self.model)
        with self._lock:
            mujoco.mj_copyData(scratch, self.model, self.data)
        start = time.perf_counter()
        for _ in range(steps):
            self._physics_step(scratch)
        return steps / (time.perf_counter() - start)

    def startup_report(self) -> str:
        """One line: model, base, timestep and the physics headroom."""
        base = "fixed base (gantry)" if self.fixed_base else "floating base"
        motors = f"{self.dof} motors" + ("" if self.motors == tuple(range(G1_DOF)) else f" {list(self.motors)}")
        return (
            f"sim G1 {self.g1.xml_path.name}: {motors}, {base}, pelvis at {self.g1.base_height:.3f} m; "
            f"physics dt {self.dt * 1e3:.1f} ms ({1 / self.dt:.0f} steps/s real time, ~{self.max_steps_per_s():.0f} "
            f"steps/s max); state {self.state_rate_hz:.0f} Hz{'; frozen until released' if self._frozen else ''}"
        )

    # --- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> G1Sim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
