"""Dataset records: MP4 uploads checked with PyAV, stored in the file store, one record per file.

Limits: ``RUNROBOT_DATASET_MAX_FILE_MB`` per file (default 200) and ``MAX_FILES`` files a request.
A request stores all of its files or none of them.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from api.cloud.db import CloudDB, utc_now
from api.cloud.errors import CloudError
from api.cloud.mp4_video import NotAVideo, check_mp4
from api.cloud.publishing.fields import TITLE_MAX_LEN, slugify, text_field
from api.cloud.publishing.staging import staged_writes
from api.cloud.schemas.datasets import DatasetRecord
from api.cloud.storage import FileStore, public_url

DATASETS = "dataset_records"
MAX_FILES = 20
_NOT_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def max_file_bytes() -> int:
    return int(float(os.environ.get("RUNROBOT_DATASET_MAX_FILE_MB", "200")) * 1024 * 1024)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its client-side name and a stream to read it from."""

    name: str
    stream: BinaryIO


def ensure_dataset_table(db: CloudDB) -> None:
    db.ensure_table(
        DATASETS,
        {
            "id": str,
            "owner": str,
            "title": str,
            "description": str,
            "kind": str,
            "fileName": str,
            "fileKey": str,
            "mimeType": str,
            "fileUrl": str,
            "storedName": str,
            "size": int,
            "createdAt": str,
            "updatedAt": str,
        },
        indexes=[["owner"]],
    )


def public_record(row: dict) -> dict:
    return {k: row[k] for k in DatasetRecord.model_fields}


def list_records(db: CloudDB, owner: str) -> list[dict]:
    ensure_dataset_table(db)
    return [public_record(r) for r in db.rows(DATASETS, "owner = ?", [owner], order_by="createdAt desc, rowid desc")]


def owned_records(db: CloudDB, owner: str, ids: list[str]) -> list[dict]:
    """The caller's records for ``ids`` in order (full rows); 400 naming any id that is not theirs."""
    ensure_dataset_table(db)
    rows = [db.get(DATASETS, i) for i in ids]
    missing = [i for i, r in zip(ids, rows, strict=True) if r is None or r["owner"] != owner]
    if missing:
        raise CloudError(400, f"Unknown dataset ids (not uploaded by {owner}): {', '.join(missing)}.")
    return rows


def stored_path(store: FileStore, row: dict) -> Path | None:
    return store.resolve(row["storedName"])


def safe_file_name(name: str) -> str:
    """The base name of an uploaded file, anything but ``[A-Za-z0-9._-]`` turned into ``-``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _NOT_FILE_NAME.sub("-", base).strip("-.")[:120] or "upload.mp4"


def _checked_size(upload: Upload, limit: int) -> int:
    """The upload's size once it is known to be a decodable MP4 within ``limit``; 400 otherwise."""
    name = safe_file_name(upload.name)
    if not name.lower().endswith(".mp4"):
        raise CloudError(400, f"{name}: dataset files must be .mp4 videos.")
    size = upload.stream.seek(0, os.SEEK_END)
    if size > limit:
        raise CloudError(400, f"{name}: larger than the {limit // (1024 * 1024)} MiB limit.")
    try:
        check_mp4(upload.stream)
    except NotAVideo as exc:
        raise CloudError(400, f"{name}: {exc}.") from exc
    return size


def upload_records(
    db: CloudDB,
    store: FileStore,
    base_url: str,
    owner: str,
    title: str,
    description: str,
    kind: str,
    uploads: list[Upload],
) -> list[dict]:
    """Check every file (streamed from its spooled upload), then store them all and write one record per file."""
    title = text_field(title, "title", "", TITLE_MAX_LEN)
    if not title:
        raise CloudError(400, "Dataset title is required.")
    if not uploads:
        raise CloudError(400, "At least one MP4 file is required.")
    if len(uploads) > MAX_FILES:
        raise CloudError(400, f"At most {MAX_FILES} files per upload.")
    limit = max_file_bytes()
    for upload in uploads:  # every file is checked before any is stored
        _checked_size(upload, limit)
    ensure_dataset_table(db)
    now = utc_now()
    rows = []
    with staged_writes(db, store) as staged:
        for upload in uploads:
            name = safe_file_name(upload.name)
            upload.stream.seek(0)
            stored = staged.put(upload.stream.read(), "mp4")
            record_id = f"dataset_{secrets.token_hex(8)}"
            rows.append(
                {
                    "id": record_id,
                    "owner": owner,
                    "title": title,
                    "description": description,
                    "kind": kind,
                    "fileName": name,
                    "fileKey": f"{owner}/dataset/{slugify(title) or 'dataset'}-{record_id}/{name}",
                    "mimeType": "video/mp4",
                    "fileUrl": public_url(base_url, stored),
                    "storedName": stored.name,
                    "size": stored.size,
                    "createdAt": now,
                    "updatedAt": now,
                }
            )
        with db.transaction() as tx:
            tx[DATASETS].insert_all(rows)
    return [public_record(r) for r in rows]
