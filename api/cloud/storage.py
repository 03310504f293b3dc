"""Content-addressed file storage under ``<data dir>/files``, served at ``/files/<sha256>.<ext>``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CONTENT_TYPES = {
    "glb": "model/gltf-binary",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "onnx": "application/octet-stream",
    "zip": "application/zip",
    "xml": "application/xml",
    "json": "application/json",
    "yaml": "application/yaml",
    "mp4": "video/mp4",
}


@dataclass(frozen=True)
class StoredFile:
    name: str  # <sha256>.<ext>
    path: Path
    sha256: str
    size: int
    created: bool  # False when identical content was already stored

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.name.rsplit(".", 1)[-1], "application/octet-stream")


class FileStore:
    """Stores bytes by content hash; writes are atomic (temp file + rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, ext: str) -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.{ext.lower().lstrip('.')}"
        path = self.root / name
        if path.exists():
            return StoredFile(name, path, digest, len(data), created=False)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredFile(name, path, digest, len(data), created=True)

    def discard(self, files: list[StoredFile]) -> None:
        """Undo ``put`` for files this request created (rollback after a failed write)."""
        for f in files:
            if f.created:
                f.path.unlink(missing_ok=True)

    def resolve(self, name: str) -> Path | None:
        """The stored file for a public name, or None (never a path outside the store)."""
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        path = self.root / name
        return path if path.is_file() else None


def public_url(base_url: str, stored: StoredFile) -> str:
    return f"{base_url.rstrip('/')}/files/{stored.name}"
