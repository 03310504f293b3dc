"""Counters and timing windows of one inference session."""

from __future__ import annotations

import threading
from collections import Counter

from runtime.rolling_stats import RollingStats


class SessionStats:
    """Everything a session counts; ``inference()`` and ``io()`` render it for the API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inference_latency = RollingStats()  # observation snapshot -> chunk enqueued
        self.predict_latency = RollingStats()  # the policy call alone
        self.model_latency = RollingStats()  # the bare model call inside it (predict_action_chunk)
        self.command_interval = RollingStats()  # time between consecutive published commands
        self.frame_latency = RollingStats()  # camera message stamp (wall clock) -> received
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.chunks = 0
            self.discarded_chunks = 0
            self.inference_errors = 0
            self.last_inference_error: str | None = None
            self.starved_ticks = 0
            self.warmup_ticks = 0
            self.stale_input_pauses = 0
            self.commands_published = 0
            self.rejected_outputs = 0
            self.frames_received: Counter[str] = Counter()
            self.joint_states_received = 0
            self.rejected: Counter[str] = Counter()
            self.last_rejection: str | None = None
            self.steps_dropped = 0
            self.steps_merged = 0
        self.inference_latency.clear()
        self.predict_latency.clear()
        self.model_latency.clear()
        self.command_interval.clear()
        self.frame_latency.clear()

    def bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def count_frame(self, camera: str) -> None:
        with self._lock:
            self.frames_received[camera] += 1

    def count_rejection(self, reason: str, message: str) -> None:
        with self._lock:
            self.rejected[reason] += 1
            self.last_rejection = message

    def record_chunk(
        self, enqueue_latency_s: float, predict_s: float, dropped: int, merged: int, model_s: float | None = None
    ) -> None:
        with self._lock:
            self.chunks += 1
            self.steps_dropped += dropped
            self.steps_merged += merged
        self.inference_latency.add(enqueue_latency_s)
        self.predict_latency.add(predict_s)
        if model_s is not None:
            self.model_latency.add(model_s)

    def inference(self, queue_depth: int, clamped_values: int) -> dict:
        latency = self.inference_latency.summary_ms()
        predict = self.predict_latency.summary_ms()
        model = self.model_latency.summary_ms()
        with self._lock:
            return {
                "chunks": self.chunks,
                "inference_latency_p50_ms": latency["p50_ms"],
                "inference_latency_p99_ms": latency["p99_ms"],
                "predict_latency_p50_ms": predict["p50_ms"],
                "model_latency_p50_ms": model["p50_ms"],
                "queue_depth": queue_depth,
                "starved_ticks": self.starved_ticks,
                "warmup_ticks": self.warmup_ticks,
                "stale_input_pauses": self.stale_input_pauses,
                "clamped_values": clamped_values,
                "rejected_inputs": sum(self.rejected.values()),
                "rejected_by_reason": dict(self.rejected),
                "last_rejection": self.last_rejection,
                "rejected_outputs": self.rejected_outputs,
                "inference_errors": self.inference_errors,
                "last_inference_error": self.last_inference_error,
                "discarded_chunks": self.discarded_chunks,
                "steps_dropped_late": self.steps_dropped,
                "steps_merged": self.steps_merged,
            }

    def io(self) -> dict:
        interval = self.command_interval.summary_ms()
        latency = self.frame_latency.summary_ms()
        with self._lock:
            return {
                "frames_received": dict(self.frames_received),
                "joint_states_received": self.joint_states_received,
                "commands_published": self.commands_published,
                "command_interval_p50_ms": interval["p50_ms"],
                "command_interval_p99_ms": interval["p99_ms"],
                "frame_latency_p50_ms": latency["p50_ms"],
                "frame_latency_p99_ms": latency["p99_ms"],
            }
