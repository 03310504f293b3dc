"""Session lifecycle: created -> running <-> stopped; error; deleted."""

from __future__ import annotations

from enum import StrEnum


class SessionState(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    ERROR = "error"
    DELETED = "deleted"


class InvalidTransition(RuntimeError):
    """The requested lifecycle change is not allowed from the current state."""


ALLOWED: dict[SessionState, set[SessionState]] = {
    SessionState.CREATED: {SessionState.RUNNING, SessionState.ERROR, SessionState.DELETED},
    SessionState.RUNNING: {SessionState.STOPPED, SessionState.ERROR, SessionState.DELETED},
    SessionState.STOPPED: {SessionState.RUNNING, SessionState.ERROR, SessionState.DELETED},
    SessionState.ERROR: {SessionState.RUNNING, SessionState.STOPPED, SessionState.DELETED},
    SessionState.DELETED: set(),
}


def check_transition(current: SessionState, target: SessionState) -> None:
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"cannot go from {current} to {target}")
