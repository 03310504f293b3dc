"""Session records in SQLite (sqlite-utils), so sessions survive a server restart."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import sqlite_utils

from runtime.session.session import SessionRecord

TABLE = "sessions"


class SessionStore:
    """Persists SessionRecords plus their last known status."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite_utils.Database(sqlite3.connect(self.db_path, check_same_thread=False))
        self._db.execute("PRAGMA journal_mode=WAL")
        if TABLE not in self._db.table_names():
            self._db[TABLE].create(
                {
                    "session_id": str,
                    "policy_path": str,
                    "camera_names": str,
                    "workspace_id": str,
                    "arena_server_url": str,
                    "status": str,
                    "error_message": str,
                    "created_at": float,
                    "updated_at": float,
                },
                pk="session_id",
            )

    def save(self, record: SessionRecord, status: str, error_message: str | None = None) -> None:
        row = {
            "session_id": record.session_id,
            "policy_path": record.policy_path,
            "camera_names": json.dumps(record.camera_names),
            "workspace_id": record.workspace_id,
            "arena_server_url": record.arena_server_url,
            "status": status,
            "error_message": error_message,
            "created_at": record.created_at,
            "updated_at": time.time(),
        }
        with self._lock:
            self._db[TABLE].upsert(row, pk="session_id")

    def set_status(self, session_id: str, status: str, error_message: str | None = None) -> None:
        """Record a status change (a record that is not stored is left alone)."""
        with self._lock:
            self._db.execute(
                f"UPDATE {TABLE} SET status = ?, error_message = ?, updated_at = ? WHERE session_id = ?",
                [status, error_message, time.time(), session_id],
            )

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._db[TABLE].delete_where("session_id = ?", [session_id])

    def load_all(self) -> list[tuple[SessionRecord, str]]:
        """Every stored record with its last status, oldest first."""
        with self._lock:
            rows = list(self._db[TABLE].rows_where(order_by="created_at"))
        return [
            (
                SessionRecord(
                    session_id=r["session_id"],
                    policy_path=r["policy_path"],
                    camera_names=json.loads(r["camera_names"]),
                    workspace_id=r["workspace_id"],
                    arena_server_url=r["arena_server_url"],
                    created_at=r["created_at"],
                ),
                r["status"],
            )
            for r in rows
        ]
