"""Load a stored ONNX model in onnxruntime (CPU) and run it once on zero inputs."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from api.cloud.storage import FileStore
from runtime.policies.onnx_metadata import OnnxModelError, inspect_onnx_model

_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


class OnnxCheckError(Exception):
    """The model is missing, does not load, or does not run."""


def stored_model_path(store: FileStore, url: str) -> Path:
    """The local file behind a ``.../files/<name>`` URL of this machine's file store."""
    path = urlparse(url).path
    name = path.rsplit("/files/", 1)[-1] if "/files/" in path else ""
    resolved = store.resolve(name) if name else None
    if resolved is None:
        raise OnnxCheckError(f"model file {url!r} is not in this machine's file store")
    return resolved


def check_onnx_model(path: Path) -> str:
    """Load ``path`` and run one inference on zeros; a one-line summary of what ran."""
    started = time.perf_counter()
    try:
        session, info = inspect_onnx_model(path)
    except OnnxModelError as exc:
        raise OnnxCheckError(str(exc)) from exc
    loaded_ms = (time.perf_counter() - started) * 1000
    feeds = {}
    for tensor in info.inputs:
        dtype = _DTYPES.get(tensor.type)
        if dtype is None:
            raise OnnxCheckError(f"input {tensor.name!r} has unsupported type {tensor.type}")
        feeds[tensor.name] = np.zeros([d if isinstance(d, int) and d > 0 else 1 for d in tensor.shape], dtype)
    started = time.perf_counter()
    try:
        outputs = session.run(None, feeds)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise OnnxCheckError(f"the model does not run on zero inputs: {exc}") from exc
    run_ms = (time.perf_counter() - started) * 1000
    ins = ", ".join(f"{name}{list(v.shape)}" for name, v in feeds.items())
    outs = ", ".join(f"{t.name}{list(np.shape(v))}" for t, v in zip(info.outputs, outputs, strict=True))
    return f"loaded in {loaded_ms:.0f} ms; one zero-input run ({ins}) in {run_ms:.1f} ms gave {outs}"
