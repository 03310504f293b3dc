"""``onnx_metadata_v1`` policies: an ONNX MLP whose I/O layout is described by JSON or ONNX metadata."""

from runtime.policies.onnx_metadata.configuration_onnx_metadata import (
    LayoutTerm,
    OnnxMetadataConfig,
    OnnxMetadataConfigError,
    parse_onnx_metadata_config,
)
from runtime.policies.onnx_metadata.loader import load_onnx_metadata_policy, parse_config_json
from runtime.policies.onnx_metadata.onnx_model import (
    OnnxModelError,
    OnnxModelInfo,
    TensorInfo,
    inspect_onnx_model,
    load_onnx_session,
)

__all__ = [
    "LayoutTerm",
    "OnnxMetadataConfig",
    "OnnxMetadataConfigError",
    "OnnxModelError",
    "OnnxModelInfo",
    "TensorInfo",
    "inspect_onnx_model",
    "load_onnx_metadata_policy",
    "load_onnx_session",
    "parse_config_json",
    "parse_onnx_metadata_config",
]
