"""G1 simulation benchmark: physics steps/s free-running and in real time.

For the gantry (fixed base, 29 DoF), the standing robot (floating base, 29 DoF, stiff PD hold) and
the welded upper body (floating base, 12 DoF) it prints the model build time, the free-running rate
with the per-step PD law, the raw ``mj_step`` rate from the same state (torques held, no Python),
and for the real-time runner (state callback at 500 Hz, commands sent from the main thread at
500 Hz): measured steps/s, real-time factor, dropped steps, callbacks/s, callback interval
p50/p99, physics ms/step and process CPU use.

Usage: python bench/g1_sim.py [--seconds 3] [--steps 3000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from runtime.rolling_stats import RollingStats  # noqa: E402
from runtime.sim.g1_model import G1_DOF, G1_STAND_POSE  # noqa: E402
from runtime.sim.g1_sim import G1Sim, G1State  # noqa: E402

# Stiff enough for the floating robot to stand without a balance controller.
KP = 10 * np.array([100, 100, 100, 150, 40, 40] * 2 + [200] * 3 + [40] * 14, dtype=float)
KD = np.sqrt(10) * np.array([4, 4, 4, 4, 2, 2] * 2 + [5] * 3 + [1] * 14, dtype=float)
CONFIGS = {
    "gantry 29": {"fixed_base": True},
    "standing 29": {},
    "welded 12": {"weld_upper_body": True},
}


def _hold(sim: G1Sim) -> None:
    sim.set_command(np.ones(G1_DOF), G1_STAND_POSE, np.zeros(G1_DOF), np.zeros(G1_DOF), KP, KD)


def bench(options: dict, seconds: float, steps: int) -> dict:
    t0 = time.perf_counter()
    sim = G1Sim(**options)
    build_s = time.perf_counter() - t0

    _hold(sim)
    start = time.perf_counter()
    sim.step(steps)
    free = steps / (time.perf_counter() - start)
    standing = sim.state().base_position[2]

    scratch = mujoco.MjData(sim.model)  # raw MuJoCo from the same state: last torques held, no Python per step
    mujoco.mj_copyData(scratch, sim.model, sim.data)
    raw_steps = min(steps, 250)  # 0.5 s: without the PD law the pose soon drifts
    start = time.perf_counter()
    mujoco.mj_step(sim.model, scratch, raw_steps)
    raw = raw_steps / (time.perf_counter() - start)

    sim.reset()
    _hold(sim)
    sim.reset_stats()
    intervals = RollingStats(maxlen=100_000)
    last: list[float] = []

    def on_state(state: G1State) -> None:
        now = time.perf_counter()
        if last:
            intervals.add(now - last[0])
        last[:] = [now]

    cpu0, wall0 = time.process_time(), time.perf_counter()
    sim.start(on_state)
    end = wall0 + seconds
    while time.perf_counter() < end:  # a policy-like command stream
        _hold(sim)
        time.sleep(0.002)
    stats = sim.stats()
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    sim.close()
    return {
        **stats,
        "build_s": build_s,
        "raw_steps_per_s": raw,
        "free_steps_per_s": free,
        "pelvis_z_after_free_run": standing,
        "callbacks_per_s": intervals.count / seconds,
        "callback_interval_ms": intervals.summary_ms(),
        "cpu": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="real-time run per configuration")
    parser.add_argument("--steps", type=int, default=3000, help="free-running steps per configuration")
    args = parser.parse_args()

    header = (
        f"{'config':<12} {'build':>6} {'free steps/s':>12} {'raw mj_step/s':>13} {'rt steps/s':>10} {'RTF':>5} "
        f"{'dropped':>7} {'cb/s':>6} {'cb p50/p99 ms':>14} {'step p50/p99 ms':>16} {'CPU':>5} {'pelvis z':>8}"
    )
    print(header)
    for label, options in CONFIGS.items():
        r = bench(options, args.seconds, args.steps)
        cb, step = r["callback_interval_ms"], r["physics_step_ms"]
        print(
            f"{label:<12} {r['build_s']:>5.2f}s {r['free_steps_per_s']:>12.0f} {r['raw_steps_per_s']:>13.0f} "
            f"{r['physics_steps_per_s'] or 0:>10.0f} {r['real_time_factor'] or 0:>5.2f} {r['dropped_steps']:>7} "
            f"{r['callbacks_per_s']:>6.0f} {cb['p50_ms']:>6.2f}/{cb['p99_ms']:>6.2f} "
            f"{step['p50_ms']:>7.3f}/{step['p99_ms']:>7.3f} {r['cpu'] * 100:>4.0f}% "
            f"{r['pelvis_z_after_free_run']:>8.3f}"
        )
    print(f"physics dt {r['timestep_s'] * 1e3:.1f} ms; state callback {r['state_rate_hz']:.0f} Hz; "
          f"CPU = process CPU time / wall time during the real-time run")  # fmt: skip


if __name__ == "__main__":
    main()
