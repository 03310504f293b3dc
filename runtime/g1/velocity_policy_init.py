"""Write a local ``unitree_velocity_g1_v0`` policy directory: ``policy.onnx`` + ``deploy.yaml``.

UNTRAINED STAND-IN, NOT A WALKING POLICY. Nothing can be downloaded from the hub or GitHub, so this
builds a small torch network with random weights (a 47 -> 64 -> 64 -> 12 ELU MLP, or an LSTM(32)
variant exporting ``h_in``/``c_in`` -> ``h_out``/``c_out``) whose output layer is initialised near
zero: its actions stay close to 0, so the leg targets stay close to ``default_angles`` and a robot
running it just stands (if PD-stiff enough) near the default pose. It exercises the whole runtime
path (loading, observation, ONNX inference, recurrent state, PD targets), nothing more.

The YAML carries Unitree's G1 deploy values (``unitree_rl_gym`` ``deploy_real/configs/g1.yaml``).
The ONNX also carries ``onnx_metadata_v1`` metadata properties describing the same observation, so
the model loads through either adapter. Export uses torch's classic exporter (``dynamo=False``);
if that is unavailable the same graph is built with ``onnx.helper`` from the torch weights.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from runtime.policies.unitree_velocity.g1 import (
    G1_ARM_WAIST_MOTORS,
    G1_DEFAULT_KDS,
    G1_DEFAULT_KPS,
    G1_DEFAULT_LEG_ANGLES,
    G1_LEG_MOTORS,
    G1_MOTOR_NAMES,
)
from runtime.policies.unitree_velocity.modeling_unitree_velocity import DEPLOY_FILE, POLICY_FILE

NUM_OBS = 47
NUM_ACTIONS = 12
HIDDEN = 64
LSTM_HIDDEN = 32
OUTPUT_INIT_STD = 0.01  # keeps |action| << 1 so targets stay near the default pose
OPSET = 17


class MlpPolicy(nn.Module):
    """``obs [1, 47] -> actions [1, 12]``: Linear-ELU-Linear-ELU-Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(NUM_OBS, HIDDEN), nn.ELU(), nn.Linear(HIDDEN, HIDDEN), nn.ELU(), nn.Linear(HIDDEN, NUM_ACTIONS)
        )
        _small_output(self.net[-1])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class LstmPolicy(nn.Module):
    """``obs [1, 47], h_in, c_in [1, 1, 32] -> actions [1, 12], h_out, c_out``: LSTM then an ELU head."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(NUM_OBS, LSTM_HIDDEN)
        self.head = nn.Sequential(nn.Linear(LSTM_HIDDEN, HIDDEN), nn.ELU(), nn.Linear(HIDDEN, NUM_ACTIONS))
        _small_output(self.head[-1])

    def forward(
        self, obs: torch.Tensor, h_in: torch.Tensor, c_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        _, (h_out, c_out) = self.lstm(obs.unsqueeze(0), (h_in, c_in))
        return self.head(h_out[0]), h_out, c_out


def _small_output(layer: nn.Linear) -> None:
    nn.init.normal_(layer.weight, std=OUTPUT_INIT_STD)
    nn.init.zeros_(layer.bias)


def build_policy(recurrent: bool = False, seed: int = 0) -> nn.Module:
    """The untrained network, deterministic for ``seed`` (the global torch RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return (LstmPolicy() if recurrent else MlpPolicy()).eval()


def _example_inputs(module: nn.Module) -> tuple[torch.Tensor, ...]:
    obs = torch.zeros(1, NUM_OBS)
    if isinstance(module, LstmPolicy):
        return obs, torch.zeros(1, 1, LSTM_HIDDEN), torch.zeros(1, 1, LSTM_HIDDEN)
    return (obs,)


def _io_names(module: nn.Module) -> tuple[list[str], list[str]]:
    if isinstance(module, LstmPolicy):
        return ["obs", "h_in", "c_in"], ["actions", "h_out", "c_out"]
    return ["obs"], ["actions"]


def export_torch(module: nn.Module) -> bytes:
    """ONNX bytes from torch's classic (TorchScript) exporter."""
    inputs, outputs = _io_names(module)
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            _example_inputs(module),
            buf,
            dynamo=False,
            input_names=inputs,
            output_names=outputs,
            opset_version=OPSET,
        )
    return buf.getvalue()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _dense_nodes(seq: nn.Sequential, x: str, out: str, prefix: str) -> tuple[list[Any], list[Any]]:
    """Gemm/Elu nodes and initializers for a Sequential of Linear and ELU layers."""
    from onnx import helper, numpy_helper

    nodes, inits = [], []
    for i, layer in enumerate(seq):
        y = out if i == len(seq) - 1 else f"{prefix}{i}"
        if isinstance(layer, nn.Linear):
            inits += [numpy_helper.from_array(_np(layer.weight), f"{prefix}{i}.w")]
            inits += [numpy_helper.from_array(_np(layer.bias), f"{prefix}{i}.b")]
            nodes.append(helper.make_node("Gemm", [x, f"{prefix}{i}.w", f"{prefix}{i}.b"], [y], transB=1))
        elif isinstance(layer, nn.ELU):
            nodes.append(helper.make_node("Elu", [x], [y], alpha=float(layer.alpha)))
        else:
            raise TypeError(f"cannot build {type(layer).__name__} with onnx.helper")
        x = y
    return nodes, inits


def _gates(t: torch.Tensor) -> np.ndarray:
    """torch LSTM gate blocks (i, f, g, o) along axis 0 -> ONNX order (i, o, f, c)."""
    i, f, g, o = np.split(_np(t), 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def export_helper(module: nn.Module) -> bytes:
    """The same graph as :func:`export_torch`, built with ``onnx.helper`` from the module's weights."""
    from onnx import TensorProto, checker, helper, numpy_helper

    state = [1, 1, LSTM_HIDDEN]
    ins = [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, NUM_OBS])]
    outs = [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, NUM_ACTIONS])]
    if isinstance(module, LstmPolicy):
        lstm = module.lstm
        bias = np.concatenate([_gates(lstm.bias_ih_l0), _gates(lstm.bias_hh_l0)])
        inits = [
            numpy_helper.from_array(_gates(lstm.weight_ih_l0)[None], "lstm.W"),
            numpy_helper.from_array(_gates(lstm.weight_hh_l0)[None], "lstm.R"),
            numpy_helper.from_array(bias[None], "lstm.B"),
            numpy_helper.from_array(np.array([0], np.int64), "axis0"),
            numpy_helper.from_array(np.array([1, LSTM_HIDDEN], np.int64), "flat"),
        ]
        nodes = [
            helper.make_node("Unsqueeze", ["obs", "axis0"], ["x_seq"]),
            helper.make_node(
                "LSTM",
                ["x_seq", "lstm.W", "lstm.R", "lstm.B", "", "h_in", "c_in"],
                ["", "h_out", "c_out"],
                hidden_size=LSTM_HIDDEN,
            ),
            helper.make_node("Reshape", ["h_out", "flat"], ["h_flat"]),
        ]
        head_nodes, head_inits = _dense_nodes(module.head, "h_flat", "actions", "head.")
        nodes, inits = nodes + head_nodes, inits + head_inits
        ins += [helper.make_tensor_value_info(n, TensorProto.FLOAT, state) for n in ("h_in", "c_in")]
        outs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, state) for n in ("h_out", "c_out")]
    else:
        nodes, inits = _dense_nodes(module.net, "obs", "actions", "net.")
    graph = helper.make_graph(nodes, "g1_velocity_policy", ins, outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="runrobot")
    model.ir_version = 8
    checker.check_model(model)
    return model.SerializeToString()


def deploy_config() -> dict[str, Any]:
    """Unitree's G1 12-DoF deploy values (``deploy_real/configs/g1.yaml``) plus the mujoco timing keys."""
    legs, arms = list(G1_LEG_MOTORS), list(G1_ARM_WAIST_MOTORS)
    return {
        "control_dt": 0.02,
        "simulation_dt": 0.002,
        "control_decimation": 10,
        "msg_type": "hg",
        "imu_type": "pelvis",
        "lowcmd_topic": "rt/lowcmd",
        "lowstate_topic": "rt/lowstate",
        "policy_path": POLICY_FILE,
        "leg_joint2motor_idx": legs,
        "kps": [G1_DEFAULT_KPS[i] for i in legs],
        "kds": [G1_DEFAULT_KDS[i] for i in legs],
        "default_angles": list(G1_DEFAULT_LEG_ANGLES),
        "arm_waist_joint2motor_idx": arms,
        "arm_waist_kps": [G1_DEFAULT_KPS[i] for i in arms],
        "arm_waist_kds": [G1_DEFAULT_KDS[i] for i in arms],
        "arm_waist_target": [0.0] * len(arms),
        "ang_vel_scale": 0.25,
        "dof_pos_scale": 1.0,
        "dof_vel_scale": 0.05,
        "action_scale": 0.25,
        "cmd_scale": [2.0, 2.0, 0.25],
        "num_actions": NUM_ACTIONS,
        "num_obs": NUM_OBS,
        "max_cmd": [0.8, 0.5, 1.57],
        "cmd_init": [0.0, 0.0, 0.0],
    }


def metadata_properties(config: dict[str, Any], seed: int, recurrent: bool) -> dict[str, str]:
    """``onnx_metadata_v1`` properties describing the same observation/action as ``config``."""
    n = config["num_actions"]
    names = [G1_MOTOR_NAMES[i] for i in config["leg_joint2motor_idx"]]
    layout = [("base_ang_vel", 3), ("projected_gravity", 3), ("velocity_command", 3)]
    layout += [("joint_pos", n), ("joint_vel", n), ("last_action", n), ("gait_phase", 2)]
    scales = {
        "base_ang_vel": config["ang_vel_scale"],
        "velocity_command": config["cmd_scale"],
        "joint_pos": config["dof_pos_scale"],
        "joint_vel": config["dof_vel_scale"],
    }
    kind = "LSTM" if recurrent else "MLP"
    return {
        "observation_layout": json.dumps([{"name": k, "size": s} for k, s in layout]),
        "action_layout": json.dumps(names),
        "joint_names": json.dumps(names),
        "default_joint_pos": json.dumps(config["default_angles"]),
        "action_scale": json.dumps(config["action_scale"]),
        "control_dt": json.dumps(config["control_dt"]),
        "observation_scales": json.dumps(scales),
        "gait_period": "0.8",
        "runtime_adapter": "unitree_velocity_g1_v0",
        "description": f"UNTRAINED stand-in {kind} (random weights, seed {seed}); not a walking policy",
    }


def _with_metadata(model_bytes: bytes, metadata: dict[str, str]) -> bytes:
    import onnx

    model = onnx.load_from_string(model_bytes)
    for key, value in metadata.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    return model.SerializeToString()


def yaml_text(config: dict[str, Any], header: str) -> str:
    """The deploy YAML text: ``header`` (comment lines) then ``config`` in key order."""
    return header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=120)


def _stand_in_header(seed: int, recurrent: bool) -> str:
    kind = "LSTM" if recurrent else "MLP"
    return (
        f"# UNTRAINED STAND-IN ({kind}, random weights, seed {seed}) written by runrobot's init_velocity_policy.\n"
        "# Its actions stay near zero, so the legs hold default_angles: NOT a walking policy.\n"
        "# Values: Unitree G1 deploy config (unitree_rl_gym deploy/deploy_real/configs/g1.yaml).\n"
    )


def export_onnx(module: nn.Module) -> bytes:
    """ONNX bytes for ``module``: torch's exporter, else the same graph built with ``onnx.helper``."""
    try:
        return export_torch(module)
    except Exception:  # exporter missing (e.g. needs onnxscript) or unable: same graph by hand
        return export_helper(module)


def write_policy_dir(
    out_dir: str | Path, module: nn.Module, config: dict[str, Any], metadata: dict[str, str], yaml_header: str
) -> Path:
    """Write ``policy.onnx`` (``module`` exported, ``metadata`` as properties) and ``deploy.yaml``."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    (out / POLICY_FILE).write_bytes(_with_metadata(export_onnx(module), metadata))
    (out / DEPLOY_FILE).write_text(yaml_text(config, yaml_header))
    return out


def init_velocity_policy(out_dir: str | Path, recurrent: bool = False, seed: int = 0) -> Path:
    """Create ``out_dir`` with an UNTRAINED stand-in G1 velocity policy (``policy.onnx`` + ``deploy.yaml``).

    Loads with :func:`runtime.policies.unitree_velocity.load_velocity_policy` and passes the cloud
    publish validator. ``recurrent=True`` writes the LSTM variant (``h_in``/``c_in`` state).
    """
    module = build_policy(recurrent, seed)
    config = deploy_config()
    metadata = metadata_properties(config, seed, recurrent)
    return write_policy_dir(out_dir, module, config, metadata, _stand_in_header(seed, recurrent))
