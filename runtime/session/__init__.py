"""Inference sessions: inputs, control loop, lifecycle and persistence."""

from runtime.session.manager import (
    SessionConfigError,
    SessionEntry,
    SessionExists,
    SessionManager,
    SessionNotFound,
)
from runtime.session.session import InferenceSession, JointCommand, SessionRecord
from runtime.session.settings import SessionSettings, load_session_settings
from runtime.session.state import SessionState
from runtime.session.store import SessionStore

__all__ = [
    "InferenceSession",
    "JointCommand",
    "SessionConfigError",
    "SessionEntry",
    "SessionExists",
    "SessionManager",
    "SessionNotFound",
    "SessionRecord",
    "SessionSettings",
    "SessionState",
    "SessionStore",
    "load_session_settings",
]
