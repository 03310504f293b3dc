"""Check that uploaded bytes are a real glTF 2.0 binary (GLB) with in-bounds buffers."""

from __future__ import annotations

import base64
import binascii
import struct
import warnings

from pygltflib import GLTF2

from api.cloud.errors import CloudError
from api.cloud.publishing.fields import sentence

COMPONENT_BYTES = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
TYPE_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


class GlbError(ValueError):
    """The upload is not a usable GLB; the message says why."""


def _load(data: bytes) -> GLTF2:
    if len(data) < 20 or data[:4] != b"glTF":
        raise GlbError("not a GLB file (missing the 'glTF' binary header); export the scene as binary glTF (.glb)")
    _, version, length = struct.unpack_from("<4sII", data)
    if version != 2:
        raise GlbError(f"glTF binary version {version} is not supported (need glTF 2.0)")
    if length != len(data):
        raise GlbError(f"the GLB header says {length} bytes but the upload has {len(data)} (truncated or padded file)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown (extension) chunks are allowed; the version is checked above
        try:
            gltf = GLTF2.load_from_bytes(data)
        except Exception as exc:  # pygltflib raises whatever its parsing hits
            raise GlbError(f"could not parse the GLB: {exc}") from exc
    if gltf is None:
        raise GlbError("the GLB has no JSON chunk")
    return gltf


def _buffer_lengths(gltf: GLTF2) -> list[int]:
    """The usable byte length of each buffer (embedded BIN chunk or data URI)."""
    blob = gltf.binary_blob() or b""
    lengths = []
    for i, buf in enumerate(gltf.buffers):
        if buf.uri is None:
            if i != 0:
                raise GlbError(f"buffer {i} has no uri; only buffer 0 may use the GLB's binary chunk")
            available = len(blob)
        elif buf.uri.startswith("data:"):
            try:
                available = len(base64.b64decode(buf.uri.partition(",")[2], validate=True))
            except (binascii.Error, ValueError) as exc:
                raise GlbError(f"buffer {i} has an invalid data URI") from exc
        else:
            raise GlbError(f"buffer {i} refers to an external file ({buf.uri!r}); embed all data in the GLB")
        if buf.byteLength is None or buf.byteLength > available:
            raise GlbError(f"buffer {i} declares {buf.byteLength} bytes but only {available} are present")
        lengths.append(buf.byteLength)
    return lengths


def _check_views(gltf: GLTF2, buffer_lengths: list[int]) -> None:
    for i, view in enumerate(gltf.bufferViews):
        if view.buffer is None or not 0 <= view.buffer < len(buffer_lengths):
            raise GlbError(f"bufferView {i} refers to missing buffer {view.buffer}")
        end = (view.byteOffset or 0) + (view.byteLength or 0)
        if end > buffer_lengths[view.buffer]:
            raise GlbError(f"bufferView {i} ends at byte {end}, past the end of buffer {view.buffer}")
    for i, acc in enumerate(gltf.accessors):
        if acc.bufferView is None:
            continue  # all zeros (sparse accessors) are fine
        if not 0 <= acc.bufferView < len(gltf.bufferViews):
            raise GlbError(f"accessor {i} refers to missing bufferView {acc.bufferView}")
        if acc.componentType not in COMPONENT_BYTES or acc.type not in TYPE_COMPONENTS:
            raise GlbError(f"accessor {i} has an unknown component type or type")
        view = gltf.bufferViews[acc.bufferView]
        element = COMPONENT_BYTES[acc.componentType] * TYPE_COMPONENTS[acc.type]
        stride = view.byteStride or element
        count = acc.count or 0
        end = (acc.byteOffset or 0) + (count - 1) * stride + element if count > 0 else 0
        if end > (view.byteLength or 0):
            raise GlbError(f"accessor {i} reads past the end of bufferView {acc.bufferView}")


def _check_meshes(gltf: GLTF2) -> None:
    if not gltf.meshes:
        raise GlbError("the GLB has no meshes")
    n_accessors = len(gltf.accessors)
    for m, mesh in enumerate(gltf.meshes):
        for p, prim in enumerate(mesh.primitives):
            refs = {k: v for k, v in vars(prim.attributes).items() if v is not None}
            if prim.indices is not None:
                refs["indices"] = prim.indices
            for name, index in refs.items():
                if isinstance(index, int) and not 0 <= index < n_accessors:
                    raise GlbError(f"mesh {m} primitive {p} {name} refers to missing accessor {index}")
    for i, image in enumerate(gltf.images):
        if image.uri and not image.uri.startswith("data:"):
            raise GlbError(f"image {i} refers to an external file ({image.uri!r}); embed textures in the GLB")
        if image.bufferView is not None and not 0 <= image.bufferView < len(gltf.bufferViews):
            raise GlbError(f"image {i} refers to missing bufferView {image.bufferView}")


def validate_glb(data: bytes) -> GLTF2:
    """Parse ``data`` as glTF 2.0 binary and check its buffers; raise ``GlbError`` otherwise."""
    gltf = _load(data)
    version = str(getattr(gltf.asset, "version", "") or "")
    if not version.startswith("2."):
        raise GlbError(f"glTF asset version {version!r} is not supported (need 2.x)")
    _check_views(gltf, _buffer_lengths(gltf))
    _check_meshes(gltf)
    return gltf


def check_glb(data: bytes, field: str = "glb") -> GLTF2:
    """``validate_glb`` answering a 400 that names the form field."""
    try:
        return validate_glb(data)
    except GlbError as exc:
        raise CloudError(400, sentence(f"{field}: {exc}")) from exc
