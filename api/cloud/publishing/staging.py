"""All-or-nothing publishing: files written for a request are removed again if its DB write fails."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api.cloud.db import CloudDB
from api.cloud.storage import FileStore, StoredFile


class StagedWrites:
    """The files and folders one publish request created, so they can be rolled back."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.files: list[StoredFile] = []
        self.dirs: list[Path] = []

    def put(self, data: bytes, ext: str) -> StoredFile:
        stored = self.store.put(data, ext)
        self.files.append(stored)
        return stored

    def created_dir(self, path: Path) -> None:
        self.dirs.append(path)

    def rollback(self) -> None:
        self.store.discard(self.files)
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def staged_writes(db: CloudDB, store: FileStore) -> Iterator[StagedWrites]:
    """Write files, then the row; on any error undo the files this request created.

    Holds the database lock throughout, so a concurrent request cannot start referring to a
    file that this one is about to roll back.
    """
    with db.lock:
        staged = StagedWrites(store)
        try:
            yield staged
        except BaseException:
            staged.rollback()
            raise
