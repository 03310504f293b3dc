"""Extract untrusted zip archives safely.

Every entry is checked *before* anything is written: no absolute paths or drive letters, no
``..`` components, no symlinks or other special files (Unix mode in ``external_attr``), no
encrypted or duplicate entries, and caps on the entry count, the total uncompressed size
and the compression ratio per entry and overall (zip bombs). Extraction then writes into a
fresh temporary directory, counting bytes as they are inflated, and only a complete result
is moved into place.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeZipError", "ZipLimits", "check_zip", "extract_to_temp", "safe_extract"]

MB = 1024 * 1024
_CHUNK = 1024 * 1024


class UnsafeZipError(ValueError):
    """The archive is malformed or unsafe to extract; the message names the entry and the rule."""


@dataclass(frozen=True)
class ZipLimits:
    """Caps checked before extraction (ratios apply to entries of at least ``ratio_min_bytes``)."""

    max_entries: int = 10_000
    max_total_bytes: int = 500 * MB
    max_entry_bytes: int = 250 * MB
    max_entry_ratio: float = 100.0
    max_total_ratio: float = 50.0
    ratio_min_bytes: int = 1 * MB


def _entry_path(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The entry's relative path (None for directories); ``UnsafeZipError`` if it could escape."""
    name = info.filename
    if "\0" in name:
        raise UnsafeZipError(f"entry {name!r} has a NUL byte in its name")
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        raise UnsafeZipError(f"entry {name!r} has an absolute path")
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeZipError(f"entry {name!r} contains '..'")
    if not parts:
        return None
    return None if info.is_dir() else PurePosixPath(*parts)


def _check_type(info: zipfile.ZipInfo) -> None:
    file_type = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no Unix type
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "a symlink" if file_type == stat.S_IFLNK else "a special file"
        raise UnsafeZipError(f"entry {info.filename!r} is {kind}; only regular files and folders are allowed")
    if info.flag_bits & 0x1:
        raise UnsafeZipError(f"entry {info.filename!r} is encrypted")


def check_zip(zf: zipfile.ZipFile, limits: ZipLimits = ZipLimits()) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Validate every entry of ``zf`` against the rules and ``limits``; return the files to extract."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnsafeZipError(f"the archive has {len(infos)} entries (at most {limits.max_entries})")
    files: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    seen: set[str] = set()
    total = total_compressed = 0
    for info in infos:
        _check_type(info)
        path = _entry_path(info)
        if path is None:
            continue
        key = str(path).lower()
        if key in seen:
            raise UnsafeZipError(f"entry {info.filename!r} appears twice (names are compared ignoring case)")
        seen.add(key)
        if info.file_size > limits.max_entry_bytes:
            raise UnsafeZipError(
                f"entry {info.filename!r} inflates to {info.file_size} bytes (limit {limits.max_entry_bytes})"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ratio_min_bytes and ratio > limits.max_entry_ratio:
            raise UnsafeZipError(
                f"entry {info.filename!r} has a compression ratio of {ratio:.0f}:1 "
                f"(at most {limits.max_entry_ratio:.0f}:1): looks like a zip bomb"
            )
        total += info.file_size
        total_compressed += info.compress_size
        files.append((info, path))
    if total > limits.max_total_bytes:
        raise UnsafeZipError(f"the archive inflates to {total} bytes (limit {limits.max_total_bytes})")
    overall = total / max(total_compressed, 1)
    if total >= limits.ratio_min_bytes and overall > limits.max_total_ratio:
        raise UnsafeZipError(
            f"the archive has an overall compression ratio of {overall:.0f}:1 "
            f"(at most {limits.max_total_ratio:.0f}:1): looks like a zip bomb"
        )
    return files


def _copy_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Inflate one entry to ``target``, never more than its declared size or the remaining budget."""
    written = 0
    with zf.open(info) as src, open(target, "xb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise UnsafeZipError(f"entry {info.filename!r} inflates past its declared size")
            dst.write(chunk)
    return written


def extract_to_temp(
    source: bytes | str | os.PathLike, parent: str | os.PathLike, limits: ZipLimits = ZipLimits()
) -> Path:
    """Check ``source`` (zip bytes or path) and extract it into a new temp dir under ``parent``.

    The caller owns the returned directory (move it into place or remove it).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes | bytearray) else source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeZipError(f"not a valid zip archive ({exc})") from exc
    with zf:
        files = check_zip(zf, limits)
        Path(parent).mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".unzip-", dir=parent))
        try:
            budget = limits.max_total_bytes
            for info, rel in files:
                target = tmp.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                budget -= _copy_entry(zf, info, target, budget)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise UnsafeZipError(f"could not extract the archive ({exc})") from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return tmp


def safe_extract(source: bytes | str | os.PathLike, dest: str | os.PathLike, limits: ZipLimits = ZipLimits()) -> Path:
    """Extract ``source`` to ``dest`` (which must not exist) via a temp dir beside it; return ``dest``."""
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(dest)
    tmp = extract_to_temp(source, dest.parent, limits)
    try:
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
