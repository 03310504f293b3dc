"""A bounded in-memory log handler that backs ``GET /debug/logs``."""

from __future__ import annotations

import logging
import threading
from collections import deque


class LogBuffer(logging.Handler):
    """Keeps the newest ``capacity`` records as dicts."""

    def __init__(self, capacity: int = 1000, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._records: deque[dict] = deque(maxlen=capacity)
        self._buffer_lock = threading.Lock()
        self.capacity = capacity

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = {
                "timestamp": record.created,
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                "thread": record.threadName,
            }
            if record.exc_info and record.exc_info[1] is not None:
                entry["exception"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        except Exception:  # a bad log call must not break the caller
            self.handleError(record)
            return
        with self._buffer_lock:
            self._records.append(entry)

    def recent(self, limit: int | None = None) -> list[dict]:
        with self._buffer_lock:
            items = list(self._records)
        return items[-limit:] if limit else items


_installed: LogBuffer | None = None


def install_log_buffer(capacity: int = 1000) -> LogBuffer:
    """Attach one LogBuffer to the root logger (idempotent)."""
    global _installed
    if _installed is None:
        _installed = LogBuffer(capacity)
        root = logging.getLogger()
        root.addHandler(_installed)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    return _installed
