"""Read binary STL meshes and decimate them, with an on-disk cache.

The SO-101 meshes hold ~322k triangles; software rendering (llvmpipe) spends most of
a frame on them. Keeping ~10% of the faces makes renders ~2x faster and looks the same
at camera resolutions.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

DEFAULT_KEEP_FRACTION = 0.1
# Bump when the decimation changes so stale cache files are not reused.
_CACHE_VERSION = 1
_INSTALL_HINT = "pip install fast-simplification"


def default_cache_dir() -> Path:
    """``$RUNROBOT_MESH_CACHE`` or ``~/.cache/runrobot/so101_meshes``."""
    env = os.environ.get("RUNROBOT_MESH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "runrobot" / "so101_meshes"


def read_binary_stl(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) float64 and faces (F, 3) int32 of a binary STL, vertices deduplicated."""
    data = Path(path).read_bytes()
    if len(data) < 84:
        raise ValueError(f"{path}: too short for a binary STL")
    count = int(np.frombuffer(data, dtype="<u4", count=1, offset=80)[0])
    if len(data) != 84 + 50 * count:
        raise ValueError(f"{path}: not a binary STL ({len(data)} bytes for {count} triangles)")
    record = np.dtype([("normal", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    tris = np.frombuffer(data, dtype=record, count=count, offset=84)["v"].reshape(-1, 3)
    verts, inverse = np.unique(tris, axis=0, return_inverse=True)
    faces = inverse.reshape(-1, 3).astype(np.int32)
    # Drop triangles that collapsed onto a repeated vertex.
    ok = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return verts.astype(np.float64), faces[ok]


def decimate(verts: np.ndarray, faces: np.ndarray, keep_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Quadric decimation down to ``keep_fraction`` of the faces."""
    if not 0.0 < keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    if keep_fraction == 1.0:
        return verts, faces
    try:
        import fast_simplification
    except ImportError as exc:
        raise ImportError(f"mesh decimation needs the fast-simplification package: {_INSTALL_HINT}") from exc
    out_v, out_f = fast_simplification.simplify(verts, faces, target_reduction=1.0 - keep_fraction)
    out_f = np.asarray(out_f, dtype=np.int32)
    ok = (out_f[:, 0] != out_f[:, 1]) & (out_f[:, 1] != out_f[:, 2]) & (out_f[:, 0] != out_f[:, 2])
    return np.asarray(out_v, dtype=np.float64), out_f[ok]


def load_decimated_stl(
    path: Path | str, keep_fraction: float = DEFAULT_KEEP_FRACTION, cache_dir: Path | str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decimated (verts, faces) of an STL file, cached as ``.npz`` keyed by content and fraction."""
    path = Path(path)
    data = path.read_bytes()
    key = hashlib.sha1(data + f"|{keep_fraction:.6f}|v{_CACHE_VERSION}".encode()).hexdigest()[:16]
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache_file = cache / f"{path.stem}-{key}.npz"
    if cache_file.is_file():
        try:
            with np.load(cache_file) as npz:
                return npz["verts"], npz["faces"]
        except (OSError, ValueError, KeyError):
            pass  # corrupt cache entry: rebuild it
    verts, faces = decimate(*read_binary_stl(path), keep_fraction)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, verts=verts, faces=faces)
        tmp.replace(cache_file)
    except OSError:
        pass  # a read-only cache only costs startup time
    return verts, faces
