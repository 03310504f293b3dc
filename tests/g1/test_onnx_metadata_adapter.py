"""The ``onnx_metadata_v1`` runtime adapter: named observation components, targets, state, NaN guard."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from runtime.policies.onnx_metadata import (
    COMPONENTS,
    NonFiniteError,
    OnnxMetadataConfigError,
    OnnxMetadataPolicy,
    load_metadata_policy,
    parse_onnx_metadata_config,
)
from tests.cloud.fixtures import mlp_onnx, onnx_metadata_config, recurrent_onnx

UPRIGHT = (1.0, 0.0, 0.0, 0.0)
SHUFFLED = [  # 47 values, deliberately not the Unitree order
    {"name": "gait_phase", "size": 2},
    {"name": "last_action", "size": 12},
    {"name": "joint_vel", "size": 12},
    {"name": "velocity_command", "size": 3},
    {"name": "projected_gravity", "size": 3},
    {"name": "joint_pos", "size": 12},
    {"name": "base_ang_vel", "size": 3},
]
DEFAULT = [0.01 * j for j in range(12)]


def config(layout: list | None = None, **extra: object) -> dict:
    return {
        "observationLayout": layout or SHUFFLED,
        "actionLayout": [{"name": "legs", "size": 12}],
        "defaultJointPositions": DEFAULT,
        "actionScale": 0.5,
        "controlDt": 0.02,
        **extra,
    }


def constant_onnx(action: np.ndarray) -> bytes:
    from onnx import TensorProto, checker, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((47, 12), np.float32), "w")
    b = numpy_helper.from_array(np.asarray(action, np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["obs", "w", "b"], ["actions"])],
        "constant",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 47])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, 12])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    checker.check_model(model)
    return model.SerializeToString()


def state() -> dict:
    return {
        "joint_pos": np.arange(12) * 0.1,
        "joint_vel": np.arange(12) * -0.2,
        "quat": UPRIGHT,
        "gyro": (0.1, 0.2, 0.3),
        "command": (0.5, -0.25, 1.0),
        "t": 0.2,
    }


def test_components_assembled_in_declared_order_with_scales() -> None:
    scales = {"base_ang_vel": 0.25, "joint_vel": 0.05, "velocity_command": [2.0, 2.0, 0.25]}
    p = OnnxMetadataPolicy.from_model(mlp_onnx(), config(observationScales=scales))
    s = state()
    obs = p.observation(**s)
    expected = [1.0, 0.0]  # gait phase at t = 0.2 (period 0.8)
    expected += [0.0] * 12  # last action
    expected += [-0.2 * j * 0.05 for j in range(12)]  # joint_vel x 0.05
    expected += [1.0, -0.5, 0.25]  # command x (2, 2, 0.25)
    expected += [0.0, 0.0, -1.0]  # gravity, upright
    expected += [0.1 * j - 0.01 * j for j in range(12)]  # joint_pos relative to default
    expected += [0.025, 0.05, 0.075]  # gyro x 0.25
    assert obs.dtype == np.float32 and obs.tolist() == pytest.approx(expected, abs=1e-6)
    assert [t.component for t in p.terms] == [t["name"] for t in SHUFFLED]


def test_aliases_single_phase_terms_and_gait_period() -> None:
    layout = [
        {"name": "velocity_commands", "size": 3},
        {"name": "joint_pos_rel", "size": 12},
        {"name": "joint_vel_rel", "size": 12},
        {"name": "actions", "size": 12},
        {"name": "base_angular_velocity", "size": 3},
        {"name": "projected_gravity", "size": 3},
        {"name": "gait_phase_cos", "size": 1},
        {"name": "sin_phase", "size": 1},
    ]
    p = OnnxMetadataPolicy.from_model(mlp_onnx(), config(layout, gaitPeriod=1.0))
    obs = p.observation(**{**state(), "t": 1.25})  # phase 0.25 with a 1 s period
    assert [t.component for t in p.terms][-2:] == ["gait_phase_cos", "gait_phase_sin"]
    assert obs[-2:].tolist() == pytest.approx([0.0, 1.0], abs=1e-6)
    assert obs[:3].tolist() == pytest.approx([0.5, -0.25, 1.0])


def test_unknown_component_rejected_with_the_supported_list() -> None:
    layout = [*SHUFFLED[:-1], {"name": "height_scan", "size": 3}]
    with pytest.raises(OnnxMetadataConfigError, match="'height_scan' are not supported") as info:
        OnnxMetadataPolicy.from_model(mlp_onnx(), config(layout))
    assert all(name in str(info.value) for name in COMPONENTS)


def test_component_sizes_must_fit() -> None:
    # the cloud fixture's config only has to add up to 47: its last_action (14) is not one per action (12)
    with pytest.raises(OnnxMetadataConfigError, match="'last_action' has size 14 but last_action has 12"):
        OnnxMetadataPolicy.from_model(mlp_onnx(), onnx_metadata_config())
    layout = [{"name": "gait_phase", "size": 1}, {"name": "sin_phase", "size": 1}, *SHUFFLED[1:]]
    with pytest.raises(OnnxMetadataConfigError, match="'gait_phase' has size 1 but gait_phase has 2"):
        OnnxMetadataPolicy.from_model(mlp_onnx(), config(layout))


def test_action_maps_to_default_plus_scale_times_action() -> None:
    action = np.linspace(-1, 1, 12)
    per_joint = [0.1 * (j + 1) for j in range(12)]
    p = OnnxMetadataPolicy.from_model(constant_onnx(action), config(actionScale=per_joint))
    out = p.step(**state())
    expected = [DEFAULT[j] + per_joint[j] * action[j] for j in range(12)]
    assert out.q.tolist() == pytest.approx(expected, abs=1e-6)
    second = p.step(**state())
    assert second.observation[2:14].tolist() == pytest.approx(action.tolist(), abs=1e-6)  # last_action
    p.reset()
    assert not p.observation(**state())[2:14].any()


def test_defaults_without_scale_or_default_positions() -> None:
    action = np.full(12, 0.3)
    cfg = {k: v for k, v in config().items() if k not in ("defaultJointPositions", "actionScale")}
    p = OnnxMetadataPolicy.from_model(constant_onnx(action), cfg)
    assert p.step(**state()).q.tolist() == pytest.approx([0.3] * 12)


def test_config_from_model_metadata_only(tmp_path: Path) -> None:
    metadata = {
        "observation_layout": json.dumps(SHUFFLED),
        "action_layout": json.dumps([f"j{i}" for i in range(12)]),
        "control_dt": "0.02",
        "observation_scales": json.dumps({"joint_vel": 0.05}),
        "gait_period": "0.8",
    }
    model_file = tmp_path / "bare.onnx"
    model_file.write_bytes(mlp_onnx(metadata=metadata))
    p = load_metadata_policy(model_file)
    assert p.joint_names == tuple(f"j{i}" for i in range(12)) and p.config.observation_scales == {"joint_vel": 0.05}
    assert p.observation(**state())[14:26].tolist() == pytest.approx([-0.2 * j * 0.05 for j in range(12)])


def test_policy_directory_with_config_json(tmp_path: Path) -> None:
    (tmp_path / "policy.onnx").write_bytes(mlp_onnx())
    (tmp_path / "config.json").write_text(json.dumps(config()))
    assert load_metadata_policy(tmp_path).control_dt == 0.02
    (tmp_path / "config.json").write_text("[1]")
    with pytest.raises(OnnxMetadataConfigError, match="JSON object"):
        load_metadata_policy(tmp_path)
    with pytest.raises(ValueError, match="no policy.onnx"):
        load_metadata_policy(tmp_path / "missing")


def test_recurrent_state_carried_and_reset() -> None:
    p = OnnxMetadataPolicy.from_model(recurrent_onnx(), config())
    assert p.recurrent and set(p.recurrent_state) == {"h_in", "c_in"}
    steps = [p.step(**state()) for _ in range(3)]
    assert any(v.any() for v in p.recurrent_state.values())
    assert not np.allclose(steps[1].action, steps[2].action)
    p.reset()
    assert not any(v.any() for v in p.recurrent_state.values())
    assert p.step(**state()).action.tolist() == steps[0].action.tolist()


def test_nan_output_detected_and_state_kept() -> None:
    p = OnnxMetadataPolicy.from_model(constant_onnx(np.array([0.1] * 11 + [math.nan])), config())
    with pytest.raises(NonFiniteError, match="1 of 12") as info:
        p.step(**state())
    assert info.value.indices == (11,) and not p.last_action.any()
    with pytest.raises(NonFiniteError, match="observation"):
        OnnxMetadataPolicy.from_model(mlp_onnx(), config()).step(**{**state(), "gyro": (0, math.inf, 0)})


def test_validator_checks_observation_scales_and_gait_period() -> None:
    parsed = parse_onnx_metadata_config(config(observationScales={"velocity_command": [2, 2, 0.25]}, gaitPeriod=0.7))
    assert parsed.to_dict()["observationScales"] == {"velocity_command": [2.0, 2.0, 0.25]}
    assert parsed.to_dict()["gaitPeriod"] == 0.7
    assert parse_onnx_metadata_config(config()).to_dict()["observationScales"] is None
    with pytest.raises(OnnxMetadataConfigError, match="'nope' are not in observationLayout"):
        parse_onnx_metadata_config(config(observationScales={"nope": 1}))
    with pytest.raises(OnnxMetadataConfigError, match="has 2 values but its observationLayout size is 3"):
        parse_onnx_metadata_config(config(observationScales={"base_ang_vel": [1, 2]}))
    with pytest.raises(OnnxMetadataConfigError, match="gaitPeriod must be > 0"):
        parse_onnx_metadata_config(config(gaitPeriod=0))
