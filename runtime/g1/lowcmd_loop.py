"""The G1 publish and policy loops: two :class:`~runtime.deadline_loop.DeadlineLoop` threads.

* publish loop (default 500 Hz): ``send(controller.command(now))`` at absolute deadlines; nothing is
  sent while the controller returns None (WAIT_STATE).
* policy loop (default ``1 / policy.control_dt``, 50 Hz): ``controller.policy_step(now)``.

:meth:`LowCmdLoop.stop` damps: the controller goes to DAMPING, the loops stop, and a few damping
commands (``shutdown_sends``, spread over ``shutdown_s``, ~20 ms) are sent from the stopping thread
so the last thing the robot hears is damping even if the publish loop had died.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from runtime.deadline_loop import DeadlineLoop
from runtime.g1.lowcmd_controller import G1LowCmdController
from runtime.g1.motors import MotorCommand

log = logging.getLogger(__name__)

__all__ = ["LowCmdLoop", "SendFn"]

SendFn = Callable[[MotorCommand], None]


class LowCmdLoop:
    """Runs a :class:`G1LowCmdController` at the publish rate and its policy at the policy rate."""

    def __init__(
        self,
        controller: G1LowCmdController,
        send: SendFn,
        rate_hz: float = 500.0,
        policy_rate_hz: float | None = None,
        spin_s: float = 0.001,
        realtime: bool = True,
        shutdown_s: float = 0.02,
        shutdown_sends: int = 5,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.controller = controller
        self._send = send
        self._clock = clock or controller.clock
        self.shutdown_s = shutdown_s
        self.shutdown_sends = max(1, shutdown_sends)
        policy_rate_hz = policy_rate_hz or 1.0 / controller.policy_period_s
        self.publish_loop = DeadlineLoop(rate_hz, self._publish_tick, "g1-lowcmd", spin_s, realtime)
        self.policy_loop = DeadlineLoop(policy_rate_hz, self._policy_tick, "g1-policy", spin_s, realtime)
        self._lock = threading.Lock()
        self.sent = 0
        self.send_errors = 0
        self.last_send_error: str | None = None
        self.shutdown_sent = 0
        self._stopped = False

    @property
    def running(self) -> bool:
        return self.publish_loop.running

    def start(self) -> None:
        """Start both loops (the policy loop first, so RUN never waits a period for it)."""
        self._stopped = False
        self.policy_loop.start()
        self.publish_loop.start()

    def _publish_tick(self, _k: int, _deadline: float) -> None:
        cmd = self.controller.command(self._clock())
        if cmd is not None:
            self._deliver(cmd)

    def _policy_tick(self, _k: int, _deadline: float) -> None:
        self.controller.policy_step(self._clock())

    def _deliver(self, cmd: MotorCommand) -> bool:
        try:
            self._send(cmd)
        except Exception as exc:  # a failing transport must not kill the loop
            with self._lock:
                self.send_errors += 1
                self.last_send_error = f"{type(exc).__name__}: {exc}"
            log.exception("g1 lowcmd send failed")
            return False
        with self._lock:
            self.sent += 1
        return True

    def stop(self, reason: str = "shutdown") -> None:
        """Damp, stop both loops, then send ``shutdown_sends`` damping commands over ``shutdown_s``."""
        if self._stopped:
            return
        self._stopped = True
        self.policy_loop.stop()
        self.controller.shutdown(reason, self._clock())
        self.publish_loop.stop()
        gap = self.shutdown_s / max(1, self.shutdown_sends - 1)
        for i in range(self.shutdown_sends):
            if i:
                time.sleep(gap)
            cmd = self.controller.command(self._clock())
            if cmd is None:  # cannot happen after shutdown(); keep the guarantee anyway
                cmd = self.controller.shutdown(reason, self._clock())
            if self._deliver(cmd):
                self.shutdown_sent += 1
        log.info("g1 lowcmd loop stopped (%s): %d damping commands sent", reason, self.shutdown_sent)

    def __enter__(self) -> LowCmdLoop:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """Send counts and both loops' timing (period error p50/p99/max, skipped ticks, tick errors)."""

        def loop_stats(loop: DeadlineLoop) -> dict[str, Any]:
            return {
                "rate_hz": loop.rate_hz,
                "period_error": loop.period_error.summary_ms(),
                "ticks": loop.period_error.count,
                "skipped_ticks": loop.skipped_ticks,
                "tick_errors": loop.tick_errors,
                "last_error": loop.last_error,
                "realtime_priority": loop.realtime_priority,
                "running": loop.running,
            }

        with self._lock:
            sends = {
                "sent": self.sent,
                "send_errors": self.send_errors,
                "last_send_error": self.last_send_error,
                "shutdown_sent": self.shutdown_sent,
            }
        return {**sends, "publish": loop_stats(self.publish_loop), "policy": loop_stats(self.policy_loop)}
