"""Load a ``unitree_velocity_g1_v0`` policy: the ONNX session checked against its deploy YAML.

The observation input is the one whose last dimension is ``num_obs`` and the action output the
one whose last dimension is ``num_actions``. Recurrent models may carry extra state tensors
(``h_in``/``c_in`` -> ``h_out``/``c_out``): each extra input must pair with an output, by name
(``*_in`` -> ``*_out``) or else by shape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.policies.onnx_metadata.onnx_model import OnnxModelInfo, TensorInfo, inspect_onnx_model
from runtime.policies.onnx_metadata.stepper import UnpairedStateInput, pair_recurrent_state
from runtime.policies.unitree_velocity.configuration_unitree_velocity import (
    UnitreeVelocityConfig,
    UnitreeVelocityConfigError,
    parse_unitree_velocity_config,
)

OBS_NAMES = ("obs", "observation", "observations", "policy")
ACTION_NAMES = ("actions", "action")


@dataclass(frozen=True)
class UnitreeModelBinding:
    """Which model tensors carry the observation, the action and the recurrent state."""

    obs_input: str
    action_output: str
    state: tuple[tuple[str, str], ...] = ()  # (input, output) pairs fed back every step

    def to_dict(self) -> dict[str, Any]:
        return {
            "obsInput": self.obs_input,
            "actionOutput": self.action_output,
            "recurrentState": [{"input": i, "output": o} for i, o in self.state],
        }


def _listing(tensors: tuple[TensorInfo, ...]) -> str:
    return ", ".join(t.describe() for t in tensors) or "none"


def _choose(tensors: list[TensorInfo], size: int, preferred: tuple[str, ...]) -> TensorInfo | None:
    fits = [t for t in tensors if t.last_dim == size]
    if not fits and len(tensors) == 1 and tensors[0].last_dim is None:
        fits = tensors  # a single tensor with a dynamic last axis: cannot tell, accept it
    fits.sort(key=lambda t: t.name.lower() not in preferred)
    return fits[0] if fits else None


def _pair_state(extra_in: list[TensorInfo], outputs: list[TensorInfo]) -> tuple[tuple[str, str], ...]:
    try:
        return pair_recurrent_state(extra_in, outputs)
    except UnpairedStateInput as exc:
        raise UnitreeVelocityConfigError(
            f"model input {exc.tensor.describe()} is neither the observation (last dimension num_obs) nor a "
            f"recurrent state with a matching output (unpaired outputs: {_listing(exc.free_outputs)})"
        ) from None


def bind_unitree_model(config: UnitreeVelocityConfig, model: OnnxModelInfo) -> UnitreeModelBinding:
    """Check ``num_obs``/``num_actions`` against the model's tensors; return which tensor is which."""
    obs = _choose(list(model.inputs), config.num_obs, OBS_NAMES)
    if obs is None:
        raise UnitreeVelocityConfigError(
            f"num_obs is {config.num_obs} but no model input has last dimension {config.num_obs} "
            f"(model inputs: {_listing(model.inputs)})"
        )
    action = _choose(list(model.outputs), config.num_actions, ACTION_NAMES)
    if action is None:
        raise UnitreeVelocityConfigError(
            f"num_actions is {config.num_actions} but no model output has last dimension {config.num_actions} "
            f"(model outputs: {_listing(model.outputs)})"
        )
    extra_in = [t for t in model.inputs if t is not obs]
    rest_out = [t for t in model.outputs if t is not action]
    return UnitreeModelBinding(obs.name, action.name, _pair_state(extra_in, rest_out))


def load_unitree_velocity_policy(
    model: bytes | str | os.PathLike, deploy_config: str | Mapping[str, Any]
) -> tuple[Any, UnitreeVelocityConfig, UnitreeModelBinding]:
    """``(session, config, binding)`` for a G1 velocity policy and its deploy YAML (text or mapping)."""
    config = parse_unitree_velocity_config(deploy_config)
    session, info = inspect_onnx_model(model)
    return session, config, bind_unitree_model(config, info)
