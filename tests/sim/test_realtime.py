"""RealTimeStepper: batched catch-up, dropped backlog, rate figures (no MuJoCo needed)."""

from __future__ import annotations

import sys
import time

from runtime.sim.realtime import RealTimeStepper


def test_stall_drops_backlog_and_counts_it() -> None:
    advanced: list[int] = []

    def advance(n: int) -> None:
        if not advanced:
            time.sleep(0.3)  # a stall: 300 steps due next tick, 100 allowed
        advanced.append(n)

    before = sys.getswitchinterval()
    stepper = RealTimeStepper(0.001, advance, lambda: (sum(advanced), sum(advanced) * 0.001), gil_switch_interval=None)
    assert stepper.steps_per_tick == 1 and stepper.max_batch == 100
    stepper.start()
    try:
        time.sleep(0.6)
        assert stepper.running
        stats = stepper.rate_stats()
    finally:
        stepper.stop()
    assert not stepper.running
    assert sys.getswitchinterval() == before
    assert max(advanced) <= stepper.max_batch
    assert stepper.dropped_steps > 0 and stats["dropped_steps"] > 0
    assert stepper.done == sum(advanced) + stepper.dropped_steps
    assert stats["physics_steps_per_s"] is not None and stats["real_time_factor"] is not None
    stepper.reset_stats()
    assert stepper.rate_stats() == {"physics_steps_per_s": None, "real_time_factor": None, "dropped_steps": 0}


def test_fine_timestep_is_batched_per_tick() -> None:
    stepper = RealTimeStepper(0.0002, lambda n: None, lambda: (0, 0.0))
    assert stepper.steps_per_tick == 5 and stepper.max_batch == 500
