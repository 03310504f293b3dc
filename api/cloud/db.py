"""The cloud's SQLite database (sqlite-utils), shared by every cloud router."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils


def utc_now() -> str:
    """ISO 8601 UTC timestamp with a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CloudDB:
    """One SQLite file; ``transaction()`` serializes writers and rolls back on error."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")

    def ensure_table(self, name: str, columns: dict, pk: str = "id", indexes: list[list[str]] | None = None) -> None:
        """Create ``name`` if missing (idempotent), with optional indexes."""
        with self.lock:
            if name not in self.db.table_names():
                self.db[name].create(columns, pk=pk)
                for index in indexes or []:
                    self.db[name].create_index(index, if_not_exists=True)

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All writes inside commit together or not at all."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def rows(self, table: str, where: str | None = None, args: list | None = None, order_by: str | None = None):
        with self.lock:
            if table not in self.db.table_names():
                return []
            return list(self.db[table].rows_where(where, args or [], order_by=order_by))

    def get(self, table: str, pk: str) -> dict | None:
        with self.lock:
            if table not in self.db.table_names():
                return None
            try:
                return self.db[table].get(pk)
            except sqlite_utils.db.NotFoundError:
                return None
