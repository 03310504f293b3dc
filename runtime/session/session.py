"""One inference session: inputs -> policy (worker thread) -> action queue -> joint commands.

The control loop runs on its own thread at the session's fps, scheduled by absolute
deadlines. Each tick it checks that every input is fresh, asks for a new chunk when the
queue runs low (one inference in flight at a time), and publishes the action queued for
that tick. Inference never runs on the control thread or on an asyncio loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from runtime.deadline_loop import DeadlineLoop
from runtime.observation import Observation
from runtime.policies.base import ChunkPolicy
from runtime.queue.action_queue import ActionQueue
from runtime.robots.normalization import JointNormalizer, NonFiniteJointError
from runtime.rooms import SessionRooms
from runtime.session.inputs import InputRejected, LatestInputs
from runtime.session.settings import SessionSettings
from runtime.session.state import SessionState, check_transition
from runtime.session.stats import SessionStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JointCommand:
    """One normalized joint command, named, for control tick ``timestep``."""

    names: list[str]
    positions: np.ndarray
    timestep: int
    timestamp: float


CommandSink = Callable[[JointCommand], None]

REJECTION_LOG_INTERVAL_S = 5.0


@dataclass
class SessionRecord:
    """What identifies a session and survives a server restart."""

    session_id: str
    policy_path: str
    camera_names: list[str]
    workspace_id: str
    arena_server_url: str
    created_at: float = field(default_factory=time.time)


class InferenceSession:
    """A session bound to one loaded policy and one robot profile."""

    def __init__(
        self,
        record: SessionRecord,
        rooms: SessionRooms,
        policy: ChunkPolicy,
        normalizer: JointNormalizer,
        settings: SessionSettings,
    ) -> None:
        self.record = record
        self.rooms = rooms
        self.policy = policy
        self.normalizer = normalizer
        self.settings = settings
        self.fps = float(policy.io.fps or settings.fps)
        self.state = SessionState.CREATED
        self.error_message: str | None = None
        self.status_reason: str | None = "created; POST /sessions/{id}/start to run"
        self.inputs = LatestInputs(policy.io.camera_shapes, normalizer)
        self.queue = ActionQueue(
            policy.io.chunk_size,
            settings.aggregate_fn,
            settings.chunk_size_threshold,
            settings.temporal_ensemble_coeff,
        )
        self.stats = SessionStats()
        self._sinks: list[CommandSink] = []
        self._lock = threading.RLock()
        self._tick_lock = threading.Lock()  # a tick and a debug reset never interleave
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{record.session_id}")
        self._inflight = False
        self._generation = 0
        self._paused = False
        self._have_chunk = False
        self._next_timestep = 0
        self._last_command_at: float | None = None
        self._consecutive_errors = 0
        self._loop: DeadlineLoop | None = None
        self.started_at: float | None = None
        self.last_command: JointCommand | None = None
        self._rejection_logged: dict[str, float] = {}
        self.telemetry: dict[str, dict] = {}  # stats reported by attached processes (e.g. "sim")

    @property
    def session_id(self) -> str:
        return self.record.session_id

    # ---- outputs -------------------------------------------------------------------------
    def add_sink(self, sink: CommandSink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: CommandSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    # ---- inputs (called from ROS callbacks or any thread) --------------------------------
    def submit_frame(self, camera: str, rgb: np.ndarray, received_at: float | None = None) -> bool:
        """Offer a camera frame; False (and counted) when rejected."""
        try:
            self.inputs.put_frame(camera, rgb, received_at)
        except InputRejected as exc:
            self.reject_input(exc.reason, str(exc))
            return False
        self.stats.count_frame(camera)
        return True

    def submit_joint_state(
        self, names: Sequence[str], positions: Sequence[float], received_at: float | None = None
    ) -> bool:
        """Offer normalized joint positions by name; False (and counted) when rejected."""
        try:
            self.inputs.put_joints(names, positions, received_at)
        except InputRejected as exc:
            self.reject_input(exc.reason, str(exc))
            return False
        self.stats.bump("joint_states_received")
        return True

    def reject_input(self, reason: str, message: str) -> None:
        """Count a rejected input; log each reason at most once per ``REJECTION_LOG_INTERVAL_S``."""
        self.stats.count_rejection(reason, message)
        now = time.monotonic()
        if now - self._rejection_logged.get(reason, -REJECTION_LOG_INTERVAL_S) >= REJECTION_LOG_INTERVAL_S:
            self._rejection_logged[reason] = now
            count = self.stats.rejected[reason]
            log.warning("session %s: rejected input (%s, %d so far): %s", self.session_id, reason, count, message)

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        with self._lock:
            if self.state == SessionState.RUNNING:
                return f"session {self.session_id} is already running"
            check_transition(self.state, SessionState.RUNNING)
            self._reset_run_state()
            self.policy.reset()
            self._loop = DeadlineLoop(self.fps, self._tick, name=f"control-{self.session_id}")
            self.state = SessionState.RUNNING
            self.error_message = None
            self.status_reason = "running"
            self.started_at = time.time()
            self._loop.start()
        log.info("session %s: started at %.1f Hz", self.session_id, self.fps)
        return f"inference started for session {self.session_id}"

    def stop(self) -> str:
        with self._lock:
            if self.state != SessionState.RUNNING:
                return f"session {self.session_id} is not running ({self.state})"
            check_transition(self.state, SessionState.STOPPED)
            self._halt()
            self.state = SessionState.STOPPED
            self.status_reason = "stopped"
        log.info("session %s: stopped", self.session_id)
        return f"inference stopped for session {self.session_id}"

    def restart(self) -> str:
        with self._lock:
            if self.state == SessionState.RUNNING:
                self._halt()
                self.state = SessionState.STOPPED
            self.start()
        return f"inference restarted for session {self.session_id}"

    def close(self) -> None:
        """Stop everything for good (delete or server shutdown)."""
        with self._lock:
            self._halt()
            self._sinks.clear()
        self._worker.shutdown(wait=False, cancel_futures=True)

    def reset(self) -> None:
        """Debug reset: clear the queue, inputs and counters; keep the lifecycle state."""
        with self._lock, self._tick_lock:
            self._reset_run_state()
            self.inputs.clear()
            self.stats.reset()
            self.normalizer.clamped = 0
            self.policy.reset()

    def fail(self, message: str) -> None:
        with self._lock:
            self._halt()
            self.state = SessionState.ERROR
            self.error_message = message
            self.status_reason = f"error: {message}"
        log.error("session %s: %s", self.session_id, message)

    def _halt(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
        self._generation += 1
        self.queue.clear()

    def _reset_run_state(self) -> None:
        self._generation += 1
        self.queue.clear()
        self._inflight = False
        self._paused = False
        self._have_chunk = False
        self._next_timestep = 0
        self._last_command_at = None
        self._consecutive_errors = 0

    # ---- control loop (own thread) ------------------------------------------------------
    def _tick(self, timestep: int, deadline: float) -> None:
        with self._tick_lock:
            self._tick_locked(timestep)

    def _tick_locked(self, timestep: int) -> None:
        now = time.monotonic()
        self._next_timestep = timestep  # a chunk merged from now on may still serve this tick
        stale = self.inputs.stale_reasons(now, self.settings.stale_after_s)
        if stale:
            if not self._paused:
                self._paused = True
                self.stats.bump("stale_input_pauses")
                self._generation += 1  # chunks predicted before the pause are void
                self._inflight = False
                self.queue.clear()
                self._have_chunk = False
                log.warning("session %s: paused, inputs not fresh: %s", self.session_id, "; ".join(stale))
            self.status_reason = "paused, inputs not fresh: " + "; ".join(stale)
            self._last_command_at = None
            self._next_timestep = timestep + 1
            return
        if self._paused:
            self._paused = False
            self.status_reason = "running"
            log.info("session %s: inputs fresh again, resuming", self.session_id)
        refill = not self._inflight and self.queue.needs_refill(timestep)
        warming_up = not self._have_chunk
        action = self.queue.pop(timestep)  # before the refill request, so a chunk landing now can serve this tick
        self._next_timestep = timestep + 1
        if refill:
            self._request_chunk(self.inputs.snapshot(now, timestep))
        if action is None:
            self.stats.bump("warmup_ticks" if warming_up else "starved_ticks")
            return
        try:
            positions = self.normalizer.clamp_normalized(action)
        except (NonFiniteJointError, ValueError) as exc:
            self.stats.bump("rejected_outputs")
            log.error("session %s: dropped policy output: %s", self.session_id, exc)
            return
        command = JointCommand(list(self.normalizer.joint_names), positions, timestep, time.monotonic())
        self.last_command = command
        for sink in list(self._sinks):
            sink(command)
        self.stats.bump("commands_published")
        if self._last_command_at is not None:
            self.stats.command_interval.add(command.timestamp - self._last_command_at)
        self._last_command_at = command.timestamp

    def _request_chunk(self, observation: Observation) -> None:
        self._inflight = True
        generation = self._generation
        self._worker.submit(self._infer, observation, generation)

    def _infer(self, observation: Observation, generation: int) -> None:
        """Worker thread: predict a chunk and merge it into the queue."""
        try:
            t0 = time.monotonic()
            chunk = self.policy.predict_chunk(observation)
            predict_s = time.monotonic() - t0
        except Exception as exc:
            self._on_inference_error(exc, generation)
            return
        if generation != self._generation:
            self.stats.bump("discarded_chunks")
            return
        report = self.queue.merge(chunk, observation.timestep, self._next_timestep)
        self.stats.record_chunk(
            time.monotonic() - observation.timestamp,
            predict_s,
            report.dropped,
            report.merged,
            self.policy.model_seconds,
        )
        self._have_chunk = True
        self._consecutive_errors = 0
        self._inflight = False

    def _on_inference_error(self, exc: Exception, generation: int) -> None:
        message = f"{type(exc).__name__}: {exc}"
        with self.stats._lock:
            self.stats.inference_errors += 1
            self.stats.last_inference_error = message
        log.exception("session %s: inference failed", self.session_id, exc_info=exc)
        if generation != self._generation:
            return
        self._consecutive_errors += 1
        self._inflight = False
        if self._consecutive_errors >= self.settings.max_consecutive_inference_errors:
            threading.Thread(target=self.fail, args=(f"inference failed repeatedly: {message}",), daemon=True).start()

    # ---- reporting -------------------------------------------------------------------------
    def queue_info(self) -> dict:
        loop = self._loop
        return {
            "session_id": self.session_id,
            "status": str(self.state),
            "queue": self.queue.summary(),
            "next_timestep": self._next_timestep,
            "inference_in_flight": self._inflight,
            "fps": self.fps,
            "period_ms": round(1e3 / self.fps, 3),
            "loop_wake_error": loop.period_error.summary_ms() if loop else None,
            "skipped_ticks": loop.skipped_ticks if loop else 0,
            "input_ages_s": self.inputs.ages(time.monotonic()),
            "inference_latency": self.stats.inference_latency.summary_ms(),
        }

    def inference_stats(self) -> dict:
        return self.stats.inference(self.queue.depth(self._next_timestep), self.normalizer.clamped)

    def io_stats(self) -> dict:
        loop = self._loop
        return {
            **self.stats.io(),
            "fps": self.fps,
            "status_reason": self.status_reason,
            "input_ages_s": self.inputs.ages(time.monotonic()),
            "loop_wake_error": loop.period_error.summary_ms() if loop else None,
            "skipped_ticks": loop.skipped_ticks if loop else 0,
            "control_thread_realtime": loop.realtime_priority if loop else None,
            "robot": self.normalizer.profile.name,
            "joint_names": list(self.normalizer.joint_names),
            "camera_shapes": {cam: list(shape) for cam, shape in self.policy.io.camera_shapes.items()},
            **self.telemetry,
            "policy_kind": self.policy.kind,
            "chunk_size": self.policy.io.chunk_size,
            "aggregate_fn": self.settings.aggregate_fn,
            "started_at": self.started_at,
        }
