"""A loop on its own thread that fires at absolute deadlines ``t0 + k * period``.

Sleeping until a little before the deadline and spinning the rest keeps period error
well under a millisecond where timers and plain sleeps drift. Late ticks are not
bunched up: if the loop falls more than a period behind, missed ticks are skipped and
counted. The thread asks for SCHED_FIFO priority where the OS allows it, and the
interpreter's GIL switch interval is shortened so a busy Python thread (preprocessing,
ROS callbacks) cannot hold the loop off for the default 5 ms.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from runtime.rolling_stats import RollingStats

log = logging.getLogger(__name__)

TickFn = Callable[[int, float], None]

GIL_SWITCH_INTERVAL_S = 0.0005
REALTIME_PRIORITY = 10


def request_realtime_priority(priority: int = REALTIME_PRIORITY) -> bool:
    """Put the calling thread under SCHED_FIFO; False where not permitted (no root/rtprio)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, OSError, AttributeError):
        return False
    return True


class DeadlineLoop:
    """Calls ``tick(k, deadline)`` at ``rate_hz`` on a dedicated thread.

    ``gil_switch_interval``: the interpreter switch interval (s) ``start`` lowers to (None: leave it).
    """

    def __init__(
        self,
        rate_hz: float,
        tick: TickFn,
        name: str = "deadline-loop",
        spin_s: float = 0.001,
        realtime: bool = True,
        gil_switch_interval: float | None = GIL_SWITCH_INTERVAL_S,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")
        self.period = 1.0 / rate_hz
        self.rate_hz = rate_hz
        self._tick = tick
        self._name = name
        self._spin_s = spin_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.period_error = RollingStats()
        self.skipped_ticks = 0
        self.tick_errors = 0
        self.last_error: str | None = None
        self.t0 = 0.0
        self._realtime = realtime
        self._gil_switch_interval = gil_switch_interval
        self.realtime_priority = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        interval = self._gil_switch_interval
        if interval is not None and sys.getswitchinterval() > interval:
            sys.setswitchinterval(interval)
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def timestep_at(self, t: float) -> int:
        """The index of the first tick whose deadline is at or after ``t``."""
        k = (t - self.t0) / self.period
        return max(0, int(k) + (0 if k == int(k) else 1))

    def _wait_until(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining > self._spin_s and self._stop.wait(remaining - self._spin_s):
            return False
        while time.monotonic() < deadline:
            if self._stop.is_set():
                return False
        return True

    def _run(self) -> None:
        if self._realtime:
            self.realtime_priority = request_realtime_priority()
            log.debug("%s: SCHED_FIFO %s", self._name, "on" if self.realtime_priority else "not permitted")
        self.t0 = time.monotonic() + self.period
        k = 0
        while not self._stop.is_set():
            deadline = self.t0 + k * self.period
            if not self._wait_until(deadline):
                break
            self.period_error.add(time.monotonic() - deadline)
            try:
                self._tick(k, deadline)
            except Exception as exc:  # a bad tick must never kill the loop
                self.tick_errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("%s: tick %d failed", self._name, k)
            k += 1
            behind = int((time.monotonic() - self.t0) / self.period) - k
            if behind > 0:
                self.skipped_ticks += behind
                k += behind
