"""``onnx_metadata_v1`` policies: an ONNX MLP whose I/O layout is described by JSON or ONNX metadata.

Config validation and loading (used by the cloud publish path), the runtime adapter
(:class:`OnnxMetadataPolicy`), and the pieces both G1 adapters share: the CPU onnxruntime
session, the per-step runner with recurrent state (:class:`OnnxStepper`), the NaN/inf guard
(:class:`NonFiniteError`) and the locomotion observation terms.
"""

from runtime.policies.onnx_metadata.configuration_onnx_metadata import (
    LayoutTerm,
    OnnxMetadataConfig,
    OnnxMetadataConfigError,
    parse_onnx_metadata_config,
)
from runtime.policies.onnx_metadata.loader import load_onnx_metadata_policy, parse_config_json
from runtime.policies.onnx_metadata.locomotion import GAIT_PERIOD, gait_phase, projected_gravity
from runtime.policies.onnx_metadata.modeling_onnx_metadata import (
    COMPONENTS,
    JointTargets,
    ObservationTerm,
    OnnxMetadataPolicy,
    load_metadata_policy,
    resolve_observation,
)
from runtime.policies.onnx_metadata.onnx_model import (
    OnnxModelError,
    OnnxModelInfo,
    TensorInfo,
    inspect_onnx_model,
    load_onnx_session,
)
from runtime.policies.onnx_metadata.stepper import NonFiniteError, OnnxStepper, pair_recurrent_state

__all__ = [
    "COMPONENTS",
    "GAIT_PERIOD",
    "JointTargets",
    "LayoutTerm",
    "NonFiniteError",
    "ObservationTerm",
    "OnnxMetadataConfig",
    "OnnxMetadataConfigError",
    "OnnxMetadataPolicy",
    "OnnxModelError",
    "OnnxModelInfo",
    "OnnxStepper",
    "TensorInfo",
    "gait_phase",
    "inspect_onnx_model",
    "load_metadata_policy",
    "load_onnx_metadata_policy",
    "load_onnx_session",
    "pair_recurrent_state",
    "parse_config_json",
    "parse_onnx_metadata_config",
    "projected_gravity",
    "resolve_observation",
]
