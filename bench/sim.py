"""Simulation benchmark: physics steps/s and render ms/frame of the SO-101 demo scene.

For decimated and full meshes at 224x224 and 640x480 (front + wrist cameras) it prints the
raw physics throughput (stepping by hand), the real-time runner's measured rate and
real-time factor, and render time per frame p50/p99 while physics runs in real time and
the arm moves.

Usage: python bench/sim.py [--frames 60]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from runtime.sim import ArmSim  # noqa: E402

SIZES = {"224x224": (224, 224), "640x480": (480, 640)}


def _max_steps_per_s(sim: ArmSim, steps: int = 2000) -> float:
    start = time.perf_counter()
    sim.step(steps)
    return steps / (time.perf_counter() - start)


def bench(decimate: bool, size: tuple[int, int], frames: int) -> dict:
    t0 = time.perf_counter()
    with ArmSim(cameras={"front": size, "wrist": size}, decimate=decimate) as sim:
        build_s = time.perf_counter() - t0
        raw = _max_steps_per_s(sim)
        sim.reset()
        for cam in sim.cameras:  # warm-up frame (GL upload) stays out of the figures
            sim.render(cam)
        sim.reset_stats()
        sim.start()
        home = sim.home
        start = time.perf_counter()
        for i in range(frames):
            phase = 2 * np.pi * i / frames
            sim.set_targets(home + 0.4 * np.sin(phase + np.arange(6)))
            sim.render_all()
        wall = time.perf_counter() - start
        stats = sim.stats()
        sim.stop()
    return {"build_s": build_s, "raw_steps_per_s": raw, "wall_s": wall, **stats}


def _row(decimate: bool, label: str, r: dict) -> str:
    cams = [f"{r['render_ms'][c]['p50_ms']:7.1f} /{r['render_ms'][c]['p99_ms']:7.1f}" for c in ("front", "wrist")]
    rate, rtf = r["physics_steps_per_s"] or 0.0, r["real_time_factor"] or 0.0
    return (
        f"{'decimated' if decimate else 'full':<10} {label:<8} {r['mesh_faces']:>7} {r['build_s']:>5.1f}s "
        f"{r['raw_steps_per_s']:>11.0f} {rate:>10.0f} {rtf:>5.2f}  {cams[0]:>17} {cams[1]:>17}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="frames per camera per configuration")
    args = parser.parse_args()

    print(f"{'meshes':<10} {'size':<8} {'faces':>7} {'build':>6} {'max steps/s':>11} {'rt steps/s':>10} {'RTF':>5}  "
          f"{'front p50/p99 ms':>17} {'wrist p50/p99 ms':>17}")  # fmt: skip
    for decimate in (True, False):
        for label, size in SIZES.items():
            r = bench(decimate, size, args.frames)
            print(_row(decimate, label, r))
    print(f"GL backend: {r['gl_backend']}; physics dt {r['timestep_s'] * 1e3:.1f} ms; dropped steps last run: "
          f"{r['dropped_steps']}")  # fmt: skip


if __name__ == "__main__":
    main()
