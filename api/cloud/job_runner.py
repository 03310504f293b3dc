"""Background threads for cloud jobs: a small named thread pool with an owner that stops it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class JobRunner:
    """Runs submitted callables on ``max_workers`` named threads, FIFO; errors are logged, never lost."""

    def __init__(self, name: str, max_workers: int = 1) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., object], *args: object) -> Future | None:
        """Queue ``fn(*args)``; None once the runner is shut down."""
        with self._lock:
            if self._closed:
                log.warning("%s is shut down; dropped %s", self.name, getattr(fn, "__name__", fn))
                return None
            return self._executor.submit(self._run, fn, args)

    def _run(self, fn: Callable[..., object], args: tuple) -> object:
        try:
            return fn(*args)
        except Exception:
            log.exception("%s: job %s failed", self.name, getattr(fn, "__name__", fn))
            raise

    def shutdown(self, wait: bool = True) -> None:
        """Drop queued jobs, let running ones finish (when ``wait``)."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
