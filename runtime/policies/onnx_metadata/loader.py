"""Load an ``onnx_metadata_v1`` policy: the ONNX session plus its config, checked against each other."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from runtime.policies.onnx_metadata.configuration_onnx_metadata import (
    OnnxMetadataConfig,
    OnnxMetadataConfigError,
    parse_onnx_metadata_config,
)
from runtime.policies.onnx_metadata.onnx_model import inspect_onnx_model


def parse_config_json(text: str | None) -> dict[str, Any] | None:
    """The config JSON text as an object; None when blank."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OnnxMetadataConfigError(f"onnx_metadata_v1 config is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise OnnxMetadataConfigError("onnx_metadata_v1 config must be a JSON object")
    return value


def load_onnx_metadata_policy(
    model: bytes | str | os.PathLike, config: str | Mapping[str, Any] | None = None
) -> tuple[Any, OnnxMetadataConfig]:
    """``(session, config)``: config from ``config`` over the model's metadata, bound to the model's tensors."""
    session, info = inspect_onnx_model(model)
    raw = parse_config_json(config) if isinstance(config, str) else config
    return session, parse_onnx_metadata_config(raw, info.metadata).bind(info)
