"""Step a simulation in real time on its own thread: shared by :class:`ArmSim` and :class:`G1Sim`.

:class:`RealTimeStepper` drives a :class:`runtime.deadline_loop.DeadlineLoop` (absolute deadlines,
no drift). Each tick advances physics by the steps the wall clock says are due, batched to catch
up after a late or skipped tick; a backlog over ``max_batch_s`` (0.1 s) is dropped and counted
instead of spiralling. It also keeps the last ~2 s of (wall time, steps, sim time) samples for
steps/s and real-time factor figures.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from runtime.deadline_loop import GIL_SWITCH_INTERVAL_S, DeadlineLoop

MAX_BATCH_S = 0.1  # when physics falls further behind the wall clock, the backlog is dropped
MAX_LOOP_HZ = 1000.0  # the runner wakes at most this often; finer timesteps are batched
RATE_WINDOW_S = 2.0
_SAMPLE_EVERY_S = 0.05


class RealTimeStepper:
    """Calls ``advance(n)`` on a deadline-loop thread so that sim time keeps up with the wall clock.

    ``progress()`` returns ``(physics steps so far, sim time in s)`` for the rate figures.
    ``after_tick(done)``, if given, runs after each tick's steps with the steps done since
    :meth:`start`. ``spin_s``, ``realtime`` and ``gil_switch_interval`` go to the
    :class:`DeadlineLoop`.
    """

    def __init__(
        self,
        dt: float,
        advance: Callable[[int], None],
        progress: Callable[[], tuple[int, float]],
        *,
        name: str = "sim-physics",
        after_tick: Callable[[int], None] | None = None,
        spin_s: float = 0.001,
        realtime: bool = False,
        gil_switch_interval: float | None = GIL_SWITCH_INTERVAL_S,
        max_batch_s: float = MAX_BATCH_S,
        max_loop_hz: float = MAX_LOOP_HZ,
    ) -> None:
        if dt <= 0:
            raise ValueError("dt must be > 0")
        self.dt = dt
        self._advance = advance
        self._progress = progress
        self.after_tick = after_tick
        self._name = name
        self._spin_s = spin_s
        self._realtime = realtime
        self._gil_switch_interval = gil_switch_interval
        self.steps_per_tick = max(1, math.ceil(1.0 / (dt * max_loop_hz)))
        self.max_batch = max(1, int(max_batch_s / dt))
        self.done = 0
        self.dropped_steps = 0
        self._rate_samples: deque[tuple[float, int, float]] = deque()
        self.loop: DeadlineLoop | None = None

    @property
    def running(self) -> bool:
        return self.loop is not None and self.loop.running

    def start(self) -> None:
        """Start stepping (a no-op while running); the step count and rate samples start afresh."""
        if self.running:
            return
        self.done = 0
        self._rate_samples.clear()
        period = self.steps_per_tick * self.dt
        self.loop = DeadlineLoop(
            1.0 / period,
            self._tick,
            name=self._name,
            spin_s=self._spin_s,
            realtime=self._realtime,
            gil_switch_interval=self._gil_switch_interval,
        )
        self.loop.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self.loop is not None:
            self.loop.stop(timeout)

    def _tick(self, k: int, deadline: float) -> None:
        due = (k + 1) * self.steps_per_tick - self.done  # skipped ticks are made up here
        if due > self.max_batch:  # stalled (e.g. machine overloaded): drop the backlog, don't spiral
            self.dropped_steps += due - self.max_batch
            self.done += due - self.max_batch
            due = self.max_batch
        if due > 0:
            self._advance(due)
            self.done += due
        self._sample_rate()
        if self.after_tick is not None:
            self.after_tick(self.done)

    def _sample_rate(self) -> None:
        now = time.perf_counter()
        samples = self._rate_samples
        if not samples or now - samples[-1][0] >= _SAMPLE_EVERY_S:
            samples.append((now, *self._progress()))
            while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_S:
                samples.popleft()

    def rate_stats(self) -> dict:
        """``physics_steps_per_s`` and ``real_time_factor`` over the last ~2 s while running (else None),
        and ``dropped_steps``."""
        rate = rtf = None
        samples = list(self._rate_samples)
        if self.running and len(samples) >= 2 and samples[-1][0] > samples[0][0]:
            (t_a, n_a, s_a), (t_b, n_b, s_b) = samples[0], samples[-1]
            rate = (n_b - n_a) / (t_b - t_a)
            rtf = (s_b - s_a) / (t_b - t_a)
        return {
            "physics_steps_per_s": None if rate is None else round(rate, 1),
            "real_time_factor": None if rtf is None else round(rtf, 3),
            "dropped_steps": self.dropped_steps,
        }

    def reset_stats(self) -> None:
        """Forget the dropped-step count, the rate samples and the loop's tick lateness."""
        self.dropped_steps = 0
        self._rate_samples.clear()
        if self.loop is not None:
            self.loop.period_error.clear()


class RealTimeSim:
    """What :class:`ArmSim` and :class:`G1Sim` share around their :class:`RealTimeStepper`.

    A subclass sets ``_realtime`` (built with its ``_advance``) and defines ``_advance(n)``.
    """

    _realtime: RealTimeStepper

    def _advance(self, n: int) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._realtime.running

    @property
    def dropped_steps(self) -> int:
        """Physics steps skipped because the runner fell more than 0.1 s behind the wall clock."""
        return self._realtime.dropped_steps

    def step(self, n: int = 1) -> None:
        """Advance physics by ``n`` timesteps (only while the real-time runner is stopped)."""
        if self.running:
            raise RuntimeError("physics is running in real time; stop() it before stepping by hand")
        self._advance(n)

    def stop(self) -> None:
        self._realtime.stop(5.0)
