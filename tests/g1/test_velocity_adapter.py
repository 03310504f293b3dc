"""The ``unitree_velocity_g1_v0`` runtime adapter: observation, targets, recurrent state, NaN guard, init."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from runtime.g1.velocity_policy_init import build_policy, export_helper, export_torch, init_velocity_policy
from runtime.policies.onnx_metadata import NonFiniteError, load_metadata_policy, projected_gravity
from runtime.policies.unitree_velocity import (
    G1_MOTOR_NAMES,
    UnitreeVelocityConfigError,
    UnitreeVelocityPolicy,
    load_velocity_policy,
)
from tests.cloud.fixtures import G1_DEFAULT_ANGLES, G1_KDS, G1_KPS, deploy_yaml, mlp_onnx, recurrent_onnx

DEFAULT = np.array(G1_DEFAULT_ANGLES)
UPRIGHT = (1.0, 0.0, 0.0, 0.0)
UNITREE_ARM_WAIST_KPS = [300, 300, 300] + [100, 100, 50, 50, 20, 20, 20] * 2
UNITREE_ARM_WAIST_KDS = [3, 3, 3] + [2, 2, 2, 2, 1, 1, 1] * 2


# ---- model builders ---------------------------------------------------------------------------


def _onnx(nodes: list, inits: list, num_obs: int = 47, num_actions: int = 12) -> bytes:
    from onnx import TensorProto, checker, helper

    graph = helper.make_graph(
        nodes,
        "test_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, num_obs])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, num_actions])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    checker.check_model(model)
    return model.SerializeToString()


def constant_onnx(action: np.ndarray) -> bytes:
    """``actions = 0 * obs + action``: a policy whose output is known exactly."""
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((47, 12), np.float32), "w")
    b = numpy_helper.from_array(np.asarray(action, np.float32), "b")
    return _onnx([helper.make_node("Gemm", ["obs", "w", "b"], ["actions"])], [w, b])


def sqrt_of_vx_onnx() -> bytes:
    """``actions[i] = sqrt(obs[6])`` (the scaled forward command): NaN when vx < 0."""
    from onnx import helper, numpy_helper

    w = np.zeros((47, 12), np.float32)
    w[6, :] = 1.0
    return _onnx(
        [helper.make_node("MatMul", ["obs", "w"], ["x"]), helper.make_node("Sqrt", ["x"], ["actions"])],
        [numpy_helper.from_array(w, "w")],
    )


def policy(model: bytes | None = None, **yaml_overrides: object) -> UnitreeVelocityPolicy:
    return UnitreeVelocityPolicy.from_model(model or mlp_onnx(), deploy_yaml(**yaml_overrides))


def standing_state() -> tuple[np.ndarray, np.ndarray]:
    q = np.zeros(29)
    q[:12] = DEFAULT
    return q, np.zeros(29)


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_velocity_policy(tmp_path_factory.mktemp("g1") / "mlp")


@pytest.fixture(scope="module")
def lstm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_velocity_policy(tmp_path_factory.mktemp("g1") / "lstm", recurrent=True)


# ---- gravity ----------------------------------------------------------------------------------


def _axis_angle_matrix(axis: str, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


def _axis_angle_quat(axis: str, angle: float) -> np.ndarray:
    v = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1)}[axis]
    return np.array([math.cos(angle / 2), *(math.sin(angle / 2) * np.array(v))])


def _hamilton(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def _gravity_in_base(rotation: np.ndarray) -> np.ndarray:
    """World gravity direction (0, 0, -1) expressed in the base frame: R^T g."""
    return rotation.T @ np.array([0.0, 0.0, -1.0])


def test_gravity_upright_is_minus_z_and_upside_down_is_plus_z() -> None:
    assert projected_gravity(UPRIGHT) == pytest.approx([0, 0, -1])
    assert projected_gravity(_axis_angle_quat("x", math.pi)) == pytest.approx([0, 0, 1], abs=1e-12)
    assert projected_gravity(_axis_angle_quat("z", 1.2)) == pytest.approx([0, 0, -1])  # yaw does not tilt


@pytest.mark.parametrize(("axis", "angle"), [("y", 0.3), ("y", -0.5), ("x", 0.4), ("x", -1.0), ("y", math.pi / 2)])
def test_gravity_pitched_and_rolled(axis: str, angle: float) -> None:
    expected = _gravity_in_base(_axis_angle_matrix(axis, angle))
    assert projected_gravity(_axis_angle_quat(axis, angle)) == pytest.approx(expected, abs=1e-12)
    if axis == "y":  # pitch nose-down by theta: gravity leans forward in the base frame
        assert expected == pytest.approx([math.sin(angle), 0, -math.cos(angle)], abs=1e-12)
    else:
        assert expected == pytest.approx([0, -math.sin(angle), -math.cos(angle)], abs=1e-12)


def test_gravity_composite_orientation_and_unnormalised_quaternion() -> None:
    yaw, pitch, roll = 0.7, 0.25, -0.15
    rotation = _axis_angle_matrix("z", yaw) @ _axis_angle_matrix("y", pitch) @ _axis_angle_matrix("x", roll)
    quat = _hamilton(_hamilton(_axis_angle_quat("z", yaw), _axis_angle_quat("y", pitch)), _axis_angle_quat("x", roll))
    assert projected_gravity(quat) == pytest.approx(_gravity_in_base(rotation), abs=1e-12)
    assert projected_gravity(3.0 * quat) == pytest.approx(_gravity_in_base(rotation), abs=1e-12)
    assert np.isnan(projected_gravity([0, 0, 0, 0])).all()


# ---- observation ------------------------------------------------------------------------------


def test_observation_value_by_value() -> None:
    p = policy()
    q = np.arange(29) * 0.01
    dq = np.arange(29) * 0.1 - 1.0
    gyro = (0.1, -0.2, 0.3)
    quat = _axis_angle_quat("y", 0.2)
    obs = p.observation(q, dq, quat, gyro, (0.5, -0.3, 1.0), t=0.2)
    assert obs.dtype == np.float32 and obs.shape == (47,)
    expected = [0.025, -0.05, 0.075]  # gyro x ang_vel_scale 0.25
    expected += [math.sin(0.2), 0.0, -math.cos(0.2)]  # gravity, pitched 0.2 rad
    expected += [1.0, -0.6, 0.25]  # command x cmd_scale (2, 2, 0.25)
    expected += [(0.01 * j - G1_DEFAULT_ANGLES[j]) * 1.0 for j in range(12)]  # leg motors 0..11
    expected += [(0.1 * j - 1.0) * 0.05 for j in range(12)]
    expected += [0.0] * 12  # no previous action yet
    expected += [1.0, 0.0]  # t = 0.2: phase 0.25
    assert obs.tolist() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("t", "sin", "cos"), [(0.0, 0, 1), (0.2, 1, 0), (0.4, 0, -1), (0.6, -1, 0), (0.8, 0, 1), (1.0, 1, 0)]
)
def test_phase_clock(t: float, sin: float, cos: float) -> None:
    q, dq = standing_state()
    obs = policy().observation(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), t)
    assert obs[-2:].tolist() == pytest.approx([sin, cos], abs=1e-6)


def test_command_scaled_and_clipped_to_max_cmd() -> None:
    q, dq = standing_state()
    clipped = policy(max_cmd=[0.8, 0.5, 1.57])
    assert clipped.observation(q, dq, UPRIGHT, (0, 0, 0), (0.5, -0.3, 1.0), 0)[6:9] == pytest.approx([1, -0.6, 0.25])
    assert clipped.observation(q, dq, UPRIGHT, (0, 0, 0), (2.0, -1.0, -3.0), 0)[6:9] == pytest.approx(
        [1.6, -1.0, -0.3925]
    )
    unclipped = policy()  # the fixture YAML has no max_cmd
    assert unclipped.observation(q, dq, UPRIGHT, (0, 0, 0), (2.0, -1.0, -3.0), 0)[6:9] == pytest.approx(
        [4.0, -2.0, -0.75]
    )


def test_bad_state_shapes_are_rejected() -> None:
    q, dq = standing_state()
    with pytest.raises(ValueError, match="q must have 29 values"):
        policy().observation(q[:12], dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0)
    with pytest.raises(ValueError, match="command"):
        policy().observation(q, dq, UPRIGHT, (0, 0, 0), (0, 0), 0)


# ---- targets ----------------------------------------------------------------------------------


def test_targets_are_action_times_scale_plus_default_and_arms_hold() -> None:
    action = np.linspace(-1, 1, 12)
    p = policy(constant_onnx(action))
    q, dq = standing_state()
    out = p.step(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0.0)
    assert out.action.tolist() == pytest.approx(action.tolist(), abs=1e-6)
    assert out.q[:12].tolist() == pytest.approx((action * 0.25 + DEFAULT).tolist(), abs=1e-6)
    assert out.kp[:12].tolist() == G1_KPS and out.kd[:12].tolist() == G1_KDS
    # no arm_waist keys in the fixture YAML: motors 12..28 hold 0 with Unitree's G1 deploy gains
    assert out.q[12:].tolist() == [0.0] * 17
    assert out.kp[12:].tolist() == UNITREE_ARM_WAIST_KPS and out.kd[12:].tolist() == UNITREE_ARM_WAIST_KDS
    assert all(np.isfinite(v).all() and v.shape == (29,) for v in (out.q, out.kp, out.kd))


def test_previous_action_is_carried_and_reset() -> None:
    action = np.linspace(-0.5, 0.5, 12)
    p = policy(constant_onnx(action))
    q, dq = standing_state()
    first = p.step(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0.0)
    assert first.observation[33:45].tolist() == [0.0] * 12
    second = p.step(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0.02)
    assert second.observation[33:45].tolist() == pytest.approx(action.tolist(), abs=1e-6)
    p.reset()
    assert p.observation(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0)[33:45].tolist() == [0.0] * 12


def test_arm_waist_values_from_yaml_and_permuted_leg_map() -> None:
    legs = list(range(6, 12)) + list(range(6))  # right leg first
    arm_kps = [float(k) for k in range(1, 18)]
    arm_target = [0.01 * k for k in range(17)]
    action = np.linspace(-1, 1, 12)
    p = policy(
        constant_onnx(action),
        leg_joint2motor_idx=legs,
        arm_waist_joint2motor_idx=list(range(12, 29)),
        arm_waist_kps=arm_kps,
        arm_waist_kds=[1.0] * 17,
        arm_waist_target=arm_target,
    )
    q = np.arange(29) * 0.01
    obs = p.observation(q, np.zeros(29), UPRIGHT, (0, 0, 0), (0, 0, 0), 0)
    assert obs[9:21].tolist() == pytest.approx([q[m] - DEFAULT[j] for j, m in enumerate(legs)], abs=1e-6)
    out = p.step(q, np.zeros(29), UPRIGHT, (0, 0, 0), (0, 0, 0), 0)
    for j, m in enumerate(legs):
        assert out.q[m] == pytest.approx(action[j] * 0.25 + DEFAULT[j], abs=1e-6)
        assert (out.kp[m], out.kd[m]) == (G1_KPS[j], G1_KDS[j])
    assert out.q[12:].tolist() == pytest.approx(arm_target) and out.kp[12:].tolist() == arm_kps
    assert p.leg_joint_names[0] == "right_hip_pitch_joint" == G1_MOTOR_NAMES[6]


def test_per_motor_gains_and_angles_cover_arms() -> None:
    kps = [float(100 + i) for i in range(29)]
    angles = [0.001 * i for i in range(29)]
    p = policy(kps=kps, kds=[2.0] * 29, default_angles=angles, leg_joint2motor_idx=list(range(12)))
    out = p.default_targets()
    assert out.kp.tolist() == kps and out.q.tolist() == pytest.approx(angles)


@pytest.mark.parametrize(
    ("overrides", "model", "match"),
    [
        ({"num_obs": 48}, mlp_onnx(num_obs=48), "9 \\+ 3 x 12 \\+ 2 = 47"),
        ({"imu_type": "torso"}, None, "imu_type 'torso'"),
        ({"arm_waist_kps": [100.0] * 5}, None, "arm_waist_kps must be 17"),
        ({"arm_waist_kds": [-1.0] * 17}, None, "negative"),
    ],
)
def test_runtime_config_checks(overrides: dict, model: bytes | None, match: str) -> None:
    with pytest.raises(UnitreeVelocityConfigError, match=match):
        policy(model, **overrides)


# ---- recurrent state --------------------------------------------------------------------------


def _manual_recurrent_run(model: bytes, observations: list[np.ndarray], state_shape: tuple[int, ...]) -> list:
    """Actions from onnxruntime directly, feeding each step's h_out/c_out back by hand."""
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    h = c = np.zeros(state_shape, np.float32)
    actions = []
    for obs in observations:
        a, h, c = session.run(["actions", "h_out", "c_out"], {"obs": obs[None], "h_in": h, "c_in": c})
        actions.append(a.reshape(-1))
    return actions


@pytest.mark.parametrize("source", ["fixture", "init"])
def test_recurrent_state_carried_between_steps_and_reset(source: str, lstm_dir: Path) -> None:
    if source == "fixture":
        model = recurrent_onnx()
        p, shape = policy(model), (1, 1, 8)
    else:
        model = (lstm_dir / "policy.onnx").read_bytes()
        p, shape = load_velocity_policy(lstm_dir), (1, 1, 32)
    assert p.recurrent and p.binding.state == (("h_in", "h_out"), ("c_in", "c_out"))
    assert all(not v.any() and v.shape == shape for v in p.recurrent_state.values())
    q, dq = standing_state()
    steps = [p.step(q, dq, UPRIGHT, (0.1, 0, 0), (0.3, 0, 0), k * 0.02) for k in range(3)]
    assert any(v.any() for v in p.recurrent_state.values())
    expected = _manual_recurrent_run(model, [s.observation for s in steps], shape)
    for got, want in zip(steps, expected, strict=True):
        assert got.action.tolist() == pytest.approx(want.tolist(), abs=1e-6)
    assert not np.allclose(steps[0].action, steps[1].action)  # the state (and previous action) changed it
    p.reset()
    assert all(not v.any() for v in p.recurrent_state.values()) and not p.last_action.any()
    again = p.step(q, dq, UPRIGHT, (0.1, 0, 0), (0.3, 0, 0), 0.0)
    assert again.action.tolist() == steps[0].action.tolist()


def test_unpaired_extra_input_is_rejected() -> None:
    from onnx import TensorProto, helper, numpy_helper

    from runtime.policies.onnx_metadata import OnnxMetadataConfigError, OnnxMetadataPolicy

    w = numpy_helper.from_array(np.zeros((47, 12), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["actions"])],
        "extra_input",
        [
            helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 47]),
            helper.make_tensor_value_info("memory", TensorProto.FLOAT, [1, 5]),
        ],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, 12])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data = model.SerializeToString()
    with pytest.raises(UnitreeVelocityConfigError, match=r"model input memory \[1, 5\] is neither the observation"):
        policy(data)
    layout = {"base_ang_vel": 3, "projected_gravity": 3, "velocity_command": 3, "joint_pos": 12}
    layout |= {"joint_vel": 12, "last_action": 12, "gait_phase": 2}
    metadata_config = {"observationLayout": layout, "actionLayout": {"legs": 12}, "controlDt": 0.02}
    with pytest.raises(OnnxMetadataConfigError, match=r"model input memory \[1, 5\] is neither the observation"):
        OnnxMetadataPolicy.from_model(data, metadata_config)


# ---- NaN guard --------------------------------------------------------------------------------


def test_nan_action_is_detected_and_nothing_updates() -> None:
    p = policy(sqrt_of_vx_onnx())
    q, dq = standing_state()
    good = p.step(q, dq, UPRIGHT, (0, 0, 0), (0.5, 0, 0), 0.0)
    assert good.action.tolist() == pytest.approx([1.0] * 12)  # sqrt(0.5 x 2)
    with pytest.raises(NonFiniteError, match="non-finite action") as info:
        p.step(q, dq, UPRIGHT, (0, 0, 0), (-0.5, 0, 0), 0.02)
    assert info.value.where.startswith("action") and len(info.value.indices) == 12
    assert p.last_action.tolist() == pytest.approx([1.0] * 12)
    assert np.isfinite(p.default_targets().q).all()


def test_nan_state_inputs_are_refused_before_inference() -> None:
    p = policy()
    q, dq = standing_state()
    q[3] = np.nan
    with pytest.raises(NonFiniteError, match="non-finite observation") as info:
        p.step(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0.0)
    assert info.value.indices == (12,)  # obs[9 + 3]
    q[3] = 0.0
    with pytest.raises(NonFiniteError, match="observation"):
        p.step(q, dq, (0, 0, 0, 0), (0, 0, 0), (0, 0, 0), 0.0)


def test_nan_recurrent_state_is_detected() -> None:
    p = policy(recurrent_onnx())
    q, dq = standing_state()
    p.step(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0.0)
    before = p.recurrent_state
    p._stepper._state["c_in"][:] = np.inf  # a corrupted state propagates to the outputs
    with pytest.raises(NonFiniteError):
        p.step(q, dq, UPRIGHT, (0, 0, 0), (0, 0, 0), 0.02)
    assert np.isinf(p.recurrent_state["c_in"]).all() and np.isfinite(before["c_in"]).all()


# ---- init_velocity_policy ---------------------------------------------------------------------


@pytest.mark.parametrize("recurrent", [False, True])
def test_init_output_passes_the_cloud_validator(recurrent: bool, mlp_dir: Path, lstm_dir: Path) -> None:
    from api.cloud.publishing.policies import adapter_config
    from runtime.policies.onnx_metadata import inspect_onnx_model

    root = lstm_dir if recurrent else mlp_dir
    model, text = (root / "policy.onnx").read_bytes(), (root / "deploy.yaml").read_text()
    info = inspect_onnx_model(model)[1]
    unitree = adapter_config("unitree_velocity_g1_v0", text, info)
    assert unitree.control_dt == pytest.approx(0.02)
    state = unitree.unitree_velocity_config["onnx"]["recurrentState"]
    assert state == ([{"input": "h_in", "output": "h_out"}, {"input": "c_in", "output": "c_out"}] if recurrent else [])
    metadata = adapter_config("onnx_metadata_v1", None, info)  # the same ONNX, described by its metadata
    assert metadata.metadata_config["observationSize"] == 47 and metadata.metadata_config["actionSize"] == 12
    assert "UNTRAINED" in text and "UNTRAINED" in info.metadata["description"]


def test_init_yaml_has_unitree_g1_values(mlp_dir: Path) -> None:
    config = yaml.safe_load((mlp_dir / "deploy.yaml").read_text())
    assert config["kps"] == G1_KPS and config["kds"] == G1_KDS and config["default_angles"] == G1_DEFAULT_ANGLES
    assert (config["simulation_dt"], config["control_decimation"], config["num_obs"]) == (0.002, 10, 47)
    assert config["max_cmd"] == [0.8, 0.5, 1.57] and config["cmd_scale"] == [2.0, 2.0, 0.25]
    assert config["arm_waist_joint2motor_idx"] == list(range(12, 29))
    assert config["arm_waist_kps"] == UNITREE_ARM_WAIST_KPS and config["arm_waist_target"] == [0.0] * 17


@pytest.mark.parametrize("recurrent", [False, True])
def test_init_policy_stands_near_default_and_both_adapters_agree(
    recurrent: bool, mlp_dir: Path, lstm_dir: Path
) -> None:
    root = lstm_dir if recurrent else mlp_dir
    unitree, generic = load_velocity_policy(root), load_metadata_policy(root)
    assert unitree.recurrent == generic.recurrent == recurrent and unitree.control_dt == generic.control_dt == 0.02
    rng = np.random.default_rng(3)
    for k in range(100):
        q, dq = standing_state()
        q += rng.normal(0, 0.05, 29)
        dq += rng.normal(0, 0.5, 29)
        quat = _axis_angle_quat("y", rng.normal(0, 0.1))
        gyro, cmd = rng.normal(0, 0.3, 3), rng.uniform(-0.4, 0.4, 3)  # inside max_cmd: no clipping
        a = unitree.step(q, dq, quat, gyro, cmd, k * 0.02)
        b = generic.step(q[:12], dq[:12], quat, gyro, cmd, k * 0.02)
        assert np.allclose(a.observation, b.observation, atol=1e-6) and np.allclose(a.q[:12], b.q, atol=1e-6)
        assert np.abs(a.action).max() < 0.2  # untrained stand-in: targets stay within 0.05 rad of default
    assert generic.joint_names == unitree.leg_joint_names


@pytest.mark.parametrize("recurrent", [False, True])
def test_helper_export_matches_torch_export(recurrent: bool) -> None:
    import onnxruntime as ort

    module = build_policy(recurrent, seed=5)
    rng = np.random.default_rng(0)
    feeds = {"obs": rng.standard_normal((1, 47)).astype(np.float32)}
    if recurrent:
        feeds |= {n: rng.standard_normal((1, 1, 32)).astype(np.float32) for n in ("h_in", "c_in")}
    by_torch = ort.InferenceSession(export_torch(module)).run(None, feeds)
    by_helper = ort.InferenceSession(export_helper(module)).run(None, feeds)
    for x, y in zip(by_torch, by_helper, strict=True):
        assert np.allclose(x, y, atol=1e-6)


def test_init_is_deterministic_and_sessions_do_not_spin(tmp_path: Path, mlp_dir: Path) -> None:
    again = init_velocity_policy(tmp_path / "again")
    assert (again / "policy.onnx").read_bytes() == (mlp_dir / "policy.onnx").read_bytes()
    options = load_velocity_policy(mlp_dir).session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"


def test_load_velocity_policy_names_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no policy.onnx, deploy.yaml"):
        load_velocity_policy(tmp_path)
