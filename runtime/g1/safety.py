"""Safety checks for the G1 lowcmd node; every fault they find sends the robot to DAMPING.

* ``/lowstate`` older than ``lowstate_timeout_s`` (50 ms)                      -> ``stale_lowstate``
* no policy output for ``policy_missed_periods`` x ``policy_period_s`` in RUN  -> ``policy_timeout``
* NaN/inf in the state, the velocity command, the policy output or the motor command -> ``non_finite``
* the policy raising                                                            -> ``policy_error``
* another publisher on ``/lowcmd`` while the robot is driven                    -> ``publisher_conflict``
* shutdown                                                                      -> ``shutdown``

Joint position targets are clipped to the model's joint ranges (every clipped value counted). The
node may not leave ZERO_TORQUE (or DAMPING) while another publisher is on ``/lowcmd``: the ROS
node reports the publisher count (:meth:`SafetyMonitor.set_lowcmd_publishers`), the controller asks
:meth:`SafetyMonitor.start_blocker` before standing up. The last event (time, kind, detail) and a
bounded list of recent ones are kept for the sidecar's ``GET /g1``.

The monitor holds no lock: :class:`runtime.g1.lowcmd_controller.G1LowCmdController` calls it under its own.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

from runtime.g1.motors import JointLimits

log = logging.getLogger(__name__)

__all__ = ["SafetyConfig", "SafetyEvent", "SafetyKind", "SafetyMonitor", "non_finite"]


class SafetyKind(StrEnum):
    STALE_LOWSTATE = "stale_lowstate"
    POLICY_TIMEOUT = "policy_timeout"
    NON_FINITE = "non_finite"
    POLICY_ERROR = "policy_error"
    PUBLISHER_CONFLICT = "publisher_conflict"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class SafetyConfig:
    lowstate_timeout_s: float = 0.05
    policy_period_s: float = 0.02
    policy_missed_periods: int = 2
    history_len: int = 32

    @property
    def policy_timeout_s(self) -> float:
        return self.policy_missed_periods * self.policy_period_s


@dataclass(frozen=True)
class SafetyEvent:
    """A fault: ``t`` on the controller's (monotonic) clock, ``wall_time`` from :func:`time.time`."""

    t: float
    kind: SafetyKind
    detail: str
    state: str = ""
    wall_time: float = 0.0

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["kind"] = self.kind.value
        return d


def non_finite(**arrays: ArrayLike | None) -> list[str]:
    """Names of the arrays holding NaN or inf (None entries are skipped)."""
    return [name for name, a in arrays.items() if a is not None and not np.all(np.isfinite(np.asarray(a, np.float64)))]


_COUNTERS = {
    SafetyKind.STALE_LOWSTATE: "stale_events",
    SafetyKind.POLICY_TIMEOUT: "policy_timeouts",
    SafetyKind.NON_FINITE: "nan_events",
    SafetyKind.POLICY_ERROR: "policy_errors",
    SafetyKind.PUBLISHER_CONFLICT: "publisher_conflicts",
    SafetyKind.SHUTDOWN: "shutdowns",
}


class SafetyMonitor:
    """Fault checks, joint-range clipping, the ``/lowcmd`` publisher guard, event records and counters."""

    def __init__(self, limits: JointLimits, config: SafetyConfig | None = None) -> None:
        self.limits = limits
        self.config = config or SafetyConfig()
        self.counters: dict[str, int] = {name: 0 for name in _COUNTERS.values()}
        self.counters["clips"] = 0
        self.counters["clipped_targets"] = 0
        self.last_event: SafetyEvent | None = None
        self._events: deque[SafetyEvent] = deque(maxlen=self.config.history_len)
        self.other_publishers = 0

    # -- checks: each returns a detail string when faulty, None when fine ----------------------------

    def lowstate_fault(self, now: float, received_at: float | None) -> str | None:
        """Detail when the latest ``/lowstate`` is older than the timeout (or never came)."""
        if received_at is None:
            return "no /lowstate received"
        age = now - received_at
        if age > self.config.lowstate_timeout_s:
            return f"/lowstate is {age * 1e3:.1f} ms old (limit {self.config.lowstate_timeout_s * 1e3:.0f} ms)"
        return None

    def policy_fault(self, now: float, last_output_at: float) -> str | None:
        """Detail when the policy has produced nothing for ``policy_missed_periods`` periods."""
        age = now - last_output_at
        if age > self.config.policy_timeout_s:
            return (
                f"no policy output for {age * 1e3:.1f} ms ({self.config.policy_missed_periods} periods of "
                f"{self.config.policy_period_s * 1e3:.0f} ms)"
            )
        return None

    def missed_periods(self, gap_s: float) -> int:
        """Whole policy periods skipped in a gap between two outputs."""
        return max(0, round(gap_s / self.config.policy_period_s) - 1)

    def clip_targets(self, q: ArrayLike) -> np.ndarray:
        """``q`` limited to the joint ranges; counts clipped values (``clips``) and vectors (``clipped_targets``)."""
        out, n = self.limits.clip(q)
        if n:
            self.counters["clips"] += n
            self.counters["clipped_targets"] += 1
        return out

    # -- /lowcmd publishers ------------------------------------------------------------------------

    def set_lowcmd_publishers(self, count: int, includes_self: bool = True) -> int:
        """Record the ``/lowcmd`` publisher count (as ``count_publishers`` reports it); returns the others."""
        self.other_publishers = max(0, int(count) - (1 if includes_self else 0))
        return self.other_publishers

    def start_blocker(self, now: float, received_at: float | None, state_finite: bool) -> str | None:
        """Why the robot may not be driven (stand up / run) now, or None."""
        if self.other_publishers:
            return f"{self.other_publishers} other publisher(s) on /lowcmd"
        if received_at is None:
            return "no /lowstate received"
        stale = self.lowstate_fault(now, received_at)
        if stale:
            return stale
        if not state_finite:
            return "the latest /lowstate holds NaN/inf"
        return None

    # -- records -----------------------------------------------------------------------------------

    def record(self, now: float, kind: SafetyKind, detail: str, state: str = "") -> SafetyEvent:
        """Count and keep an event (the caller switches to DAMPING)."""
        event = SafetyEvent(now, SafetyKind(kind), detail, state, time.time())
        self.counters[_COUNTERS[event.kind]] += 1
        self.last_event = event
        self._events.append(event)
        level = logging.INFO if event.kind is SafetyKind.SHUTDOWN else logging.ERROR
        log.log(level, "G1 safety %s in %s: %s", event.kind.value, state or "?", detail)
        return event

    def events(self) -> list[SafetyEvent]:
        """Recent events, oldest first (bounded)."""
        return list(self._events)
