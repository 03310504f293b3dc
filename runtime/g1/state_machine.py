"""The G1 lowcmd node's states and their legal transitions (no timing, no I/O beyond logging).

States, as Unitree's deploy examples sequence them::

    WAIT_STATE --(first lowstate)--> ZERO_TORQUE --start/default--> MOVE_TO_DEFAULT --(2 s)--> HOLD_DEFAULT
                                                                        ^                          |
                                                       default          |                         run
                                  DAMPING --------------------------->--+<------- default ------- RUN
                                     ^
                                     +------ damp (from any state: operator, safety, shutdown)

* ``WAIT_STATE``: no ``/lowstate`` yet; nothing is published.
* ``ZERO_TORQUE``: ``kp = kd = 0``.
* ``MOVE_TO_DEFAULT``: all 29 motors interpolate linearly from the pose at entry to the default pose.
* ``HOLD_DEFAULT``: the default pose with full gains.
* ``RUN``: the velocity policy's targets.
* ``DAMPING``: ``kp = 0, kd = 8``; entered by ``damp`` from any state (operator stop, every safety
  fault, shutdown).

Leaving DAMPING (design choice): only the explicit operator trigger ``default`` leaves it, and it goes
to MOVE_TO_DEFAULT (the robot stands up from its current pose over the interpolation time). There is
no way back to ZERO_TORQUE: dropping a damped robot to zero torque only makes it fall faster, and
``start`` is refused in DAMPING so a habitual "start" press does not count as acknowledging a fault.
Whether the robot may leave DAMPING now (fresh, finite state; no other ``/lowcmd`` publisher) is
checked by the caller (:mod:`runtime.g1.lowcmd_controller`) before it fires the trigger.

Every transition is logged and kept in a bounded history; refused triggers are logged, counted and
the last one kept, each with its reason.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import asdict, dataclass
from enum import StrEnum

log = logging.getLogger(__name__)

__all__ = [
    "AUTOMATIC_TRIGGERS",
    "OPERATOR_TRIGGERS",
    "TRANSITIONS",
    "G1State",
    "G1StateMachine",
    "Transition",
    "TransitionResult",
    "Trigger",
]


class G1State(StrEnum):
    WAIT_STATE = "WAIT_STATE"
    ZERO_TORQUE = "ZERO_TORQUE"
    MOVE_TO_DEFAULT = "MOVE_TO_DEFAULT"
    HOLD_DEFAULT = "HOLD_DEFAULT"
    RUN = "RUN"
    DAMPING = "DAMPING"


class Trigger(StrEnum):
    START = "start"
    DEFAULT = "default"
    RUN = "run"
    DAMP = "damp"
    LOWSTATE = "lowstate"  # automatic: the first /lowstate arrived
    ARRIVED = "arrived"  # automatic: MOVE_TO_DEFAULT interpolation complete


OPERATOR_TRIGGERS = frozenset({Trigger.START, Trigger.DEFAULT, Trigger.RUN, Trigger.DAMP})
AUTOMATIC_TRIGGERS = frozenset({Trigger.LOWSTATE, Trigger.ARRIVED})

S, T = G1State, Trigger
TRANSITIONS: dict[tuple[G1State, Trigger], G1State] = {
    (S.WAIT_STATE, T.LOWSTATE): S.ZERO_TORQUE,
    (S.ZERO_TORQUE, T.START): S.MOVE_TO_DEFAULT,
    (S.ZERO_TORQUE, T.DEFAULT): S.MOVE_TO_DEFAULT,
    (S.MOVE_TO_DEFAULT, T.ARRIVED): S.HOLD_DEFAULT,
    (S.HOLD_DEFAULT, T.RUN): S.RUN,
    (S.RUN, T.DEFAULT): S.MOVE_TO_DEFAULT,
    (S.DAMPING, T.DEFAULT): S.MOVE_TO_DEFAULT,
    **{(s, T.DAMP): S.DAMPING for s in G1State if s is not S.DAMPING},
}
"""``(state, trigger) -> next state``; anything else is a no-op (below) or refused."""

_NOOPS: dict[tuple[G1State, Trigger], str] = {
    (S.DAMPING, T.DAMP): "already DAMPING",
    (S.MOVE_TO_DEFAULT, T.DEFAULT): "already moving to the default pose",
    (S.HOLD_DEFAULT, T.DEFAULT): "already holding the default pose",
    (S.RUN, T.RUN): "already running",
}
del S, T


def _refusal(state: G1State, trigger: Trigger) -> str:
    if trigger in AUTOMATIC_TRIGGERS:
        return f"{trigger.value!r} does not apply in {state.value}"
    if state is G1State.WAIT_STATE:
        return f"{trigger.value!r} refused: no /lowstate received yet"
    if trigger is Trigger.START:
        hint = " (use 'default' to leave DAMPING)" if state is G1State.DAMPING else ""
        return f"'start' only leaves ZERO_TORQUE, not {state.value}{hint}"
    if trigger is Trigger.RUN:
        return f"'run' only from HOLD_DEFAULT, not {state.value}"
    return f"{trigger.value!r} is not allowed in {state.value}"


@dataclass(frozen=True)
class Transition:
    """One state change: when, from where to where, what caused it."""

    t: float
    from_state: G1State
    to_state: G1State
    trigger: str
    source: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["from_state"], d["to_state"] = self.from_state.value, self.to_state.value
        return d


@dataclass(frozen=True)
class TransitionResult:
    """What a trigger did: ``ok`` False when refused; ``changed`` False for a no-op or a refusal."""

    ok: bool
    changed: bool
    state: G1State
    reason: str

    def __bool__(self) -> bool:
        return self.ok


class G1StateMachine:
    """The current state, when it was entered, the transition history; not thread-safe by itself."""

    def __init__(self, now: float = 0.0, history_len: int = 128) -> None:
        self._state = G1State.WAIT_STATE
        self._entered_at = now
        self._history: deque[Transition] = deque(maxlen=history_len)
        self.transitions = 0
        self.refusals = 0
        self.last_refusal: dict[str, object] | None = None

    @property
    def state(self) -> G1State:
        return self._state

    @property
    def entered_at(self) -> float:
        """Time the current state was entered (the caller's clock)."""
        return self._entered_at

    def history(self) -> list[Transition]:
        """The most recent transitions, oldest first (bounded)."""
        return list(self._history)

    @staticmethod
    def target(state: G1State, trigger: Trigger | str) -> G1State | None:
        """The state ``trigger`` leads to from ``state``, or None (no-op or refused)."""
        return TRANSITIONS.get((state, Trigger(trigger)))

    def check(self, trigger: Trigger | str) -> tuple[G1State | None, str]:
        """``(next state, "")`` if ``trigger`` changes the state now; else ``(None, why not)``."""
        try:
            trig = Trigger(trigger)
        except ValueError:
            return None, f"unknown trigger {trigger!r}; expected one of {sorted(t.value for t in Trigger)}"
        key = (self._state, trig)
        nxt = TRANSITIONS.get(key)
        if nxt is not None:
            return nxt, ""
        return None, _NOOPS.get(key) or _refusal(self._state, trig)

    def fire(self, trigger: Trigger | str, now: float, source: str = "", reason: str = "") -> TransitionResult:
        """Apply ``trigger``: a transition, a no-op (``ok``, not ``changed``) or a refusal (logged, counted)."""
        nxt, why = self.check(trigger)
        if nxt is None:
            try:
                noop = (self._state, Trigger(trigger)) in _NOOPS
            except ValueError:
                noop = False
            return TransitionResult(True, False, self._state, why) if noop else self.refuse(trigger, now, source, why)
        prev = self._state
        rec = Transition(now, prev, nxt, str(Trigger(trigger).value), source, reason)
        self._state, self._entered_at = nxt, now
        self._history.append(rec)
        self.transitions += 1
        level = logging.WARNING if nxt is G1State.DAMPING else logging.INFO
        log.log(level, "G1 %s -> %s (%s from %s)%s", prev.value, nxt.value, rec.trigger, source or "?", _sfx(reason))
        return TransitionResult(True, True, nxt, reason)

    def refuse(self, trigger: Trigger | str, now: float, source: str, reason: str) -> TransitionResult:
        """Record a refused trigger (also used by callers whose guards say no)."""
        self.refusals += 1
        self.last_refusal = {
            "t": now,
            "state": self._state.value,
            "trigger": str(trigger),
            "source": source,
            "reason": reason,
        }
        log.warning("G1 %s refused in %s (from %s): %s", trigger, self._state.value, source or "?", reason)
        return TransitionResult(False, False, self._state, reason)


def _sfx(reason: str) -> str:
    return f": {reason}" if reason else ""
