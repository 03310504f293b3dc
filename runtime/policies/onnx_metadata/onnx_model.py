"""Load an ONNX policy in onnxruntime (CPU) and describe its inputs, outputs and metadata."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runtime.policies.base import PolicyLoadError

Dim = int | str | None


class OnnxModelError(PolicyLoadError):
    """The ONNX model does not load in onnxruntime."""


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output: name, shape (ints, symbolic names or None) and element type."""

    name: str
    shape: tuple[Dim, ...]
    type: str

    @property
    def last_dim(self) -> int | None:
        """The size of the last axis when it is fixed, else None."""
        return self.shape[-1] if self.shape and isinstance(self.shape[-1], int) else None

    def describe(self) -> str:
        return f"{self.name} {list(self.shape)}"


@dataclass(frozen=True)
class OnnxModelInfo:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: dict[str, str] = field(default_factory=dict)

    def input(self, name: str) -> TensorInfo | None:
        return next((t for t in self.inputs if t.name == name), None)

    def output(self, name: str) -> TensorInfo | None:
        return next((t for t in self.outputs if t.name == name), None)


def session_options(threads: int = 1):
    """CPU session options that do not spin idle threads (the sidecar shares its cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def load_onnx_session(model: bytes | str | os.PathLike, threads: int = 1):
    """An ``onnxruntime.InferenceSession`` on the CPU provider; ``OnnxModelError`` if it does not load."""
    import onnxruntime as ort

    source = model if isinstance(model, bytes) else str(Path(model))
    try:
        return ort.InferenceSession(source, session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxModelError(f"onnxruntime could not load the model: {message}") from exc


def describe_session(session) -> OnnxModelInfo:
    def tensors(args) -> tuple[TensorInfo, ...]:
        return tuple(TensorInfo(a.name, tuple(a.shape or ()), a.type) for a in args)

    metadata = dict(session.get_modelmeta().custom_metadata_map or {})
    return OnnxModelInfo(tensors(session.get_inputs()), tensors(session.get_outputs()), metadata)


def inspect_onnx_model(model: bytes | str | os.PathLike):
    """Load ``model`` and return ``(session, OnnxModelInfo)``."""
    session = load_onnx_session(model)
    return session, describe_session(session)
