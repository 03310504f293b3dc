"""Owns every session: creation (policy load + checks), lifecycle, persistence, room bridging.

Methods that load a policy block for the load time; HTTP handlers call them off the
event loop.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runtime.policies import PolicyLoadError, load_policy
from runtime.robots.normalization import JointNormalizer
from runtime.robots.profile import load_robot_profile
from runtime.rooms import SessionRooms, new_workspace_id
from runtime.session.session import InferenceSession, SessionRecord
from runtime.session.settings import SessionSettings
from runtime.session.state import SessionState
from runtime.session.store import SessionStore

log = logging.getLogger(__name__)

SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SessionNotFound(KeyError):
    """No session with that id."""


class SessionExists(ValueError):
    """A session with that id (or those rooms) already exists."""


class SessionConfigError(ValueError):
    """The request cannot make a working session (bad policy, cameras, names)."""


class RoomBridge(Protocol):
    """Moves a session's room traffic to and from a transport (ROS 2 topics)."""

    def attach(self, session: InferenceSession) -> None: ...

    def detach(self, session: InferenceSession) -> None: ...


@dataclass
class SessionEntry:
    """A known session; ``session`` is None until its policy is loaded (after a server restart)."""

    record: SessionRecord
    rooms: SessionRooms
    session: InferenceSession | None = None
    load_error: str | None = None

    @property
    def state(self) -> SessionState:
        if self.session is not None:
            return self.session.state
        return SessionState.ERROR if self.load_error else SessionState.STOPPED


class SessionManager:
    def __init__(self, store: SessionStore, settings: SessionSettings, bridge: RoomBridge | None = None) -> None:
        self.store = store
        self.settings = settings
        self.bridge = bridge
        self._entries: dict[str, SessionEntry] = {}
        self._lock = threading.RLock()

    # ---- queries ---------------------------------------------------------------------------
    def get(self, session_id: str) -> SessionEntry:
        with self._lock:
            entry = self._entries.get(session_id)
        if entry is None:
            raise SessionNotFound(f"session {session_id!r} not found")
        return entry

    def list(self) -> list[SessionEntry]:
        with self._lock:
            return list(self._entries.values())

    def find_room(self, room_id: str) -> tuple[SessionEntry, str, str] | None:
        """(entry, kind, camera name) for a room id; kind is camera/joint_input/joint_output."""
        for entry in self.list():
            for cam, room in entry.rooms.cameras.items():
                if room.room_id == room_id:
                    return entry, "camera", cam
            if entry.rooms.joint_input.room_id == room_id:
                return entry, "joint_input", ""
            if entry.rooms.joint_output.room_id == room_id:
                return entry, "joint_output", ""
        return None

    # ---- lifecycle -------------------------------------------------------------------------
    def restore(self) -> int:
        """Bring stored sessions back, stopped; their policies load on start."""
        restored = 0
        for record, _status in self.store.load_all():
            try:
                rooms = SessionRooms.build(record.session_id, record.workspace_id, record.camera_names)
            except ValueError as exc:
                log.error("cannot restore session %s: %s", record.session_id, exc)
                continue
            with self._lock:
                self._entries[record.session_id] = SessionEntry(record, rooms)
            self.store.set_status(record.session_id, str(SessionState.STOPPED))
            restored += 1
        if restored:
            log.info("restored %d session(s), all stopped", restored)
        return restored

    def create(
        self,
        session_id: str,
        policy_path: str,
        camera_names: list[str],
        workspace_id: str | None = None,
        arena_server_url: str = "http://localhost:8000",
    ) -> SessionEntry:
        """Load the policy, check it against the cameras and robot, and register the session."""
        if not SESSION_ID_PATTERN.match(session_id):
            raise SessionConfigError(
                f"session_id {session_id!r} must be 1-64 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit"
            )
        with self._lock:
            if session_id in self._entries:
                raise SessionExists(f"session {session_id!r} already exists")
        record = SessionRecord(
            session_id=session_id,
            policy_path=str(Path(policy_path).expanduser().resolve()) if policy_path.strip() else policy_path,
            camera_names=list(camera_names),
            workspace_id=workspace_id or new_workspace_id(),
            arena_server_url=arena_server_url,
        )
        try:
            rooms = SessionRooms.build(session_id, record.workspace_id, record.camera_names)
        except ValueError as exc:
            raise SessionConfigError(str(exc)) from exc
        if len(set(camera_names)) != len(camera_names):
            raise SessionConfigError(f"camera_names has duplicates: {camera_names}")
        session = self._build_session(record, rooms)
        with self._lock:
            if session_id in self._entries:
                session.close()
                raise SessionExists(f"session {session_id!r} already exists")
            taken = {r.topic for e in self._entries.values() for r in e.rooms.all_rooms()}
            clash = [r.topic for r in rooms.all_rooms() if r.topic in taken]
            if clash:
                session.close()
                raise SessionExists(f"rooms already in use by another session: {clash}")
            entry = SessionEntry(record, rooms, session)
            self._entries[session_id] = entry
        try:
            self._attach(session)
            self.store.save(record, str(session.state))
        except Exception as exc:  # all or nothing: no half-created session stays behind
            with self._lock:
                self._entries.pop(session_id, None)
            session.close()
            if self.bridge is not None:
                self.bridge.detach(session)
            raise SessionConfigError(f"could not set up session {session_id!r}: {exc}") from exc
        log.info("session %s created (workspace %s, policy %s)", session_id, record.workspace_id, policy_path)
        return entry

    def _build_session(self, record: SessionRecord, rooms: SessionRooms) -> InferenceSession:
        try:
            policy = load_policy(record.policy_path)
        except PolicyLoadError as exc:
            raise SessionConfigError(str(exc)) from exc
        io = policy.io
        wanted, have = sorted(record.camera_names), sorted(io.camera_shapes)
        if wanted != have:
            raise SessionConfigError(f"policy expects cameras {have} but the session names {wanted}")
        try:
            profile = load_robot_profile(io.robot or self.settings.robot)
        except FileNotFoundError as exc:
            raise SessionConfigError(str(exc)) from exc
        if io.joint_names and list(io.joint_names) != profile.joint_names:
            raise SessionConfigError(
                f"policy joint names {list(io.joint_names)} differ from robot {profile.name}: {profile.joint_names}"
            )
        if io.state_dim != profile.dof or io.action_dim != profile.dof:
            raise SessionConfigError(
                f"policy state/action dims {io.state_dim}/{io.action_dim} do not match robot "
                f"{profile.name} with {profile.dof} joints"
            )
        return InferenceSession(record, rooms, policy, JointNormalizer(profile), self.settings)

    def _attach(self, session: InferenceSession) -> None:
        if self.bridge is not None:
            self.bridge.attach(session)

    def _loaded(self, entry: SessionEntry) -> InferenceSession:
        """The entry's session, loading its policy first if the server restarted since."""
        if entry.session is None:
            try:
                entry.session = self._build_session(entry.record, entry.rooms)
            except SessionConfigError as exc:
                entry.load_error = str(exc)
                self.store.set_status(entry.record.session_id, str(SessionState.ERROR), str(exc))
                raise
            entry.load_error = None
            entry.session.state = SessionState.STOPPED
            self._attach(entry.session)
        return entry.session

    def start(self, session_id: str) -> str:
        entry = self.get(session_id)
        session = self._loaded(entry)
        message = session.start()
        self.store.set_status(session_id, str(session.state))
        return message

    def stop(self, session_id: str) -> str:
        entry = self.get(session_id)
        if entry.session is None:
            return f"session {session_id} is not running ({entry.state})"
        message = entry.session.stop()
        self.store.set_status(session_id, str(entry.session.state))
        return message

    def restart(self, session_id: str) -> str:
        entry = self.get(session_id)
        session = self._loaded(entry)
        message = session.restart()
        self.store.set_status(session_id, str(session.state))
        return message

    def reset(self, session_id: str) -> str:
        entry = self.get(session_id)
        if entry.session is None:
            return f"session {session_id} has no loaded state to reset"
        entry.session.reset()
        return f"session {session_id} reset"

    def delete(self, session_id: str) -> str:
        with self._lock:
            entry = self.get(session_id)
            del self._entries[session_id]
        if entry.session is not None:
            entry.session.close()
            entry.session.state = SessionState.DELETED
            if self.bridge is not None:
                self.bridge.detach(entry.session)
        self.store.delete(session_id)
        log.info("session %s deleted", session_id)
        return f"session {session_id} deleted"

    def shutdown(self) -> None:
        """Stop every loop (server exit); records stay for the next start."""
        for entry in self.list():
            if entry.session is not None:
                entry.session.close()
                if self.bridge is not None:
                    self.bridge.detach(entry.session)
                self.store.set_status(entry.record.session_id, str(SessionState.STOPPED))
