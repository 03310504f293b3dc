"""Robot bundles: safe extraction, entry-XML detection, MuJoCo compilation, serving paths.

An extracted bundle lives at ``<files>/bundles/<sha256 of the zip>/`` and its files are served
at ``/files/bundles/<sha256>/<path>``.
"""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from api.cloud.errors import CloudError
from api.cloud.publishing.fields import sentence
from api.cloud.storage import FileStore
from runtime.safe_zip import UnsafeZipError, ZipLimits, extract_to_temp

BUNDLES_DIR = "bundles"
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
BUNDLE_ZIP_LIMITS = ZipLimits(max_entries=5000, max_total_bytes=500 * 1024 * 1024)
PATH_ATTRIBUTES = ("file", "meshdir", "texturedir", "assetdir")
DIR_ATTRIBUTES = ("meshdir", "texturedir", "assetdir")
BUNDLE_CONTENT_TYPES = {
    ".xml": "application/xml",
    ".urdf": "application/xml",
    ".stl": "model/stl",
    ".obj": "model/obj",
    ".mtl": "text/plain",
    ".msh": "application/octet-stream",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".glb": "model/gltf-binary",
    ".json": "application/json",
}


def bundle_root(store: FileStore) -> Path:
    return store.root / BUNDLES_DIR


def bundle_url(base_url: str, digest: str, rel_path: str) -> str:
    return f"{base_url.rstrip('/')}/files/{BUNDLES_DIR}/{digest}/{quote(rel_path)}"


def bundle_content_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return BUNDLE_CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def resolve_bundle_file(store: FileStore, digest: str, rel_path: str) -> Path | None:
    """The extracted file for a public bundle path, or None (never outside that bundle)."""
    if not DIGEST_RE.match(digest):
        return None
    root = (bundle_root(store) / digest).resolve()
    path = (root / rel_path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def extract_bundle(data: bytes, store: FileStore) -> Path:
    """Extract ``data`` into a temp dir in the store (same filesystem for the final rename); 400 if unsafe."""
    try:
        return extract_to_temp(data, store.root, BUNDLE_ZIP_LIMITS)
    except UnsafeZipError as exc:
        raise CloudError(400, sentence(f"bundle: {exc}")) from exc


def _is_junk(rel: PurePosixPath) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)


def xml_files(root: Path) -> list[str]:
    """Relative POSIX paths of the bundle's XML files (no macOS or hidden junk), sorted."""
    out = []
    for path in root.rglob("*"):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if path.is_file() and rel.suffix.lower() == ".xml" and not _is_junk(rel):
            out.append(str(rel))
    return sorted(out)


def find_entry_xml(root: Path, explicit: str | None) -> str:
    """The entry XML: the explicit path (must exist), the single top-level XML, or the one scene XML."""
    candidates = xml_files(root)
    if explicit is not None:
        rel = PurePosixPath(explicit.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts or re.match(r"^[A-Za-z]:", explicit):
            raise CloudError(400, f"entryXmlPath {explicit!r} must be a relative path inside the bundle.")
        if not (root / rel).is_file():
            listed = ", ".join(candidates[:20]) or "none"
            raise CloudError(400, f"entryXmlPath {explicit!r} is not in the bundle (XML files: {listed}).")
        return str(rel)
    if not candidates:
        raise CloudError(400, "bundle: no MJCF .xml file found in the zip.")
    depth = min(len(PurePosixPath(c).parts) for c in candidates)
    top = [c for c in candidates if len(PurePosixPath(c).parts) == depth]
    if len(top) == 1:
        return top[0]
    scenes = [c for c in candidates if "scene" in PurePosixPath(c).name.lower()]
    if len(scenes) == 1:
        return scenes[0]
    raise CloudError(
        400,
        f"bundle: cannot tell which XML is the entry point ({', '.join((scenes or top)[:20])}); set entryXmlPath.",
    )


def _escapes(base: PurePosixPath, value: str) -> bool:
    """Whether ``value`` taken relative to ``base`` leaves the bundle (absolute or too many '..')."""
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
        return True
    parts = [p for p in (base / value.replace("\\", "/")).parts if p not in ("", ".")]
    depth = 0
    for part in parts:
        depth += -1 if part == ".." else 1
        if depth < 0:
            return True
    return False


def check_file_references(root: Path) -> None:
    """400 when an XML in the bundle points at files outside it (absolute paths, '..' escapes)."""
    for rel in xml_files(root):
        try:
            tree = ET.parse(root / rel)
        except ET.ParseError:
            continue  # the compile step reports broken entry XML; other XML is just data
        base = PurePosixPath(rel).parent
        dirs = [base] + [base / d for el in tree.iter() for a in DIR_ATTRIBUTES if (d := el.get(a))]
        for element in tree.iter():
            for attr in PATH_ATTRIBUTES:
                value = element.get(attr)
                if value and all(_escapes(d, value) for d in dirs):
                    raise CloudError(
                        400,
                        f"bundle: {rel} <{element.tag} {attr}={value!r}> points outside the bundle; "
                        "use paths relative to the bundle.",
                    )


def compile_mjcf(root: Path, entry: str) -> None:
    """Compile the entry XML with MuJoCo; 400 carrying MuJoCo's message if it does not compile."""
    import mujoco

    try:
        mujoco.MjModel.from_xml_path(str(root / entry))
    except Exception as exc:  # MuJoCo raises ValueError with the compiler's message
        message = str(exc).replace(f"{root}{os.sep}", "").replace(str(root), ".")
        raise CloudError(400, sentence(f"MuJoCo could not compile {entry}: {message}")) from exc


def install_bundle(tmp: Path, store: FileStore, digest: str) -> tuple[Path, bool]:
    """Move an extracted temp dir to ``bundles/<digest>``; reuse an identical existing one.

    Returns the final path and whether this call created it.
    """
    dest = bundle_root(store) / digest
    dest.parent.mkdir(exist_ok=True)
    if dest.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        return dest, False
    os.rename(tmp, dest)
    return dest, True
