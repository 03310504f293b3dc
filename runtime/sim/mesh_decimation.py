"""Read binary STL meshes, decimate them and give them crease-aware normals, with a disk cache.

The SO-101 meshes hold ~322k triangles; software rendering (llvmpipe) spends most of
a frame on them. Decimated meshes render several times faster. Decimation leaves long
thin triangles, so normals are computed here with a crease angle (smooth across gentle
bends, sharp across CAD edges) instead of by MuJoCo, which would smear shading.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Target share of faces kept; the error cap below stops the SO-101 meshes at ~36% (322k -> 116k faces).
DEFAULT_KEEP_FRACTION = 0.1
CREASE_DEG = 30.0
# Bump when the output changes so stale cache files are not reused.
_CACHE_VERSION = 4
_INSTALL_HINT = "pip install fast-simplification"
# The simplifier's error thresholds assume unit-sized features: decimate in millimetres.
_MM = 1000.0
# Error threshold grows as 1e-9 * (iteration + 3) ** agg over <= 100 iterations: agg 4 caps the
# squared error near 0.1 mm^2, so decimation stops short of the target rather than crumple surfaces.
_AGGRESSIVENESS = 4.0


@dataclass(frozen=True)
class TriMesh:
    """Vertices (V, 3), faces (F, 3), normals (N, 3) and per-corner normal indices (F, 3)."""

    verts: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    face_normals: np.ndarray


def default_cache_dir() -> Path:
    """``$RUNROBOT_MESH_CACHE`` or ``~/.cache/runrobot/so101_meshes``."""
    env = os.environ.get("RUNROBOT_MESH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "runrobot" / "so101_meshes"


def _drop_degenerate(faces: np.ndarray) -> np.ndarray:
    ok = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return faces[ok]


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
    return verts.astype(np.float64), _drop_degenerate(inverse.reshape(-1, 3).astype(np.int32))


def decimate(verts: np.ndarray, faces: np.ndarray, keep_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Quadric decimation towards ``keep_fraction`` of the faces (CAD slivers may stop it earlier)."""
    if not 0.0 < keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    if keep_fraction == 1.0:
        return verts, faces
    try:
        import fast_simplification
    except ImportError as exc:
        raise ImportError(f"mesh decimation needs the fast-simplification package: {_INSTALL_HINT}") from exc
    out_v, out_f = fast_simplification.simplify(
        verts * _MM, faces, target_reduction=1.0 - keep_fraction, agg=_AGGRESSIVENESS
    )
    return np.asarray(out_v, dtype=np.float64) / _MM, _drop_degenerate(np.asarray(out_f, dtype=np.int32))


def crease_normals(
    verts: np.ndarray, faces: np.ndarray, crease_deg: float = CREASE_DEG
) -> tuple[np.ndarray, np.ndarray]:
    """Per-corner normals: area-weighted mean of the faces around the vertex within ``crease_deg``.

    Returns unique normals (N, 3) and, per face corner, an index into them (F, 3).
    """
    cross = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    norm = np.linalg.norm(cross, axis=1, keepdims=True)
    unit = cross / np.maximum(norm, 1e-30)  # area-weighted sum below uses ``cross`` itself
    corner_vert = faces.ravel()
    corner_face = np.repeat(np.arange(len(faces)), 3)
    order = np.argsort(corner_vert, kind="stable")
    counts = np.bincount(corner_vert, minlength=len(verts))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # Every pair (corner i, corner j) of corners that share a vertex.
    deg = counts[corner_vert[order]]
    i_corner = np.repeat(order, deg)
    block_start = np.repeat(np.cumsum(deg) - deg, deg)
    j_pos = np.repeat(starts[corner_vert[order]], deg) + (np.arange(deg.sum()) - block_start)
    j_corner = order[j_pos]
    fi, fj = corner_face[i_corner], corner_face[j_corner]
    keep = np.einsum("ij,ij->i", unit[fi], unit[fj]) >= np.cos(np.radians(crease_deg))
    acc = np.zeros((len(corner_vert), 3))
    np.add.at(acc, i_corner[keep], cross[fj[keep]])
    acc /= np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-30)
    normals, index = np.unique(np.round(acc, 4), axis=0, return_inverse=True)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    return normals, index.reshape(-1, 3).astype(np.int32)


def load_decimated_stl(
    path: Path | str, keep_fraction: float = DEFAULT_KEEP_FRACTION, cache_dir: Path | str | None = None
) -> TriMesh:
    """Decimated mesh of an STL file with crease normals, cached as ``.npz`` keyed by content and fraction."""
    path = Path(path)
    data = path.read_bytes()
    key = hashlib.sha1(data + f"|{keep_fraction:.6f}|{CREASE_DEG}|v{_CACHE_VERSION}".encode()).hexdigest()[:16]
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache_file = cache / f"{path.stem}-{key}.npz"
    if cache_file.is_file():
        try:
            with np.load(cache_file) as npz:
                return TriMesh(npz["verts"], npz["faces"], npz["normals"], npz["face_normals"])
        except (OSError, ValueError, KeyError):
            pass  # corrupt cache entry: rebuild it
    verts, faces = decimate(*read_binary_stl(path), keep_fraction)
    mesh = TriMesh(verts, faces, *crease_normals(verts, faces))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{cache_file.stem}.{os.getpid()}.tmp.npz"
        np.savez(tmp, verts=mesh.verts, faces=mesh.faces, normals=mesh.normals, face_normals=mesh.face_normals)
        tmp.replace(cache_file)
    except OSError:
        pass  # a read-only cache only costs startup time
    return mesh
