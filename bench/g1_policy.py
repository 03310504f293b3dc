"""G1 velocity-policy step latency: the untrained MLP and LSTM stand-ins through both runtime adapters.

Times one full ``step`` (observation building, onnxruntime CPU inference with 1 intra-op thread and
no spinning, NaN checks, 29-motor targets) and the bare ``session.run`` on the same observation.
Prints p50/p99/max in microseconds.

Usage: python bench/g1_policy.py [--steps 5000] [--warmup 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.g1.velocity_policy_init import init_velocity_policy  # noqa: E402
from runtime.policies.onnx_metadata import load_metadata_policy  # noqa: E402
from runtime.policies.unitree_velocity import load_velocity_policy  # noqa: E402


def percentiles(samples: list[float]) -> str:
    us = np.asarray(samples) * 1e6
    return f"p50 {np.percentile(us, 50):7.1f} us   p99 {np.percentile(us, 99):7.1f} us   max {us.max():8.1f} us"


def measure(fn: Callable[[int], object], steps: int, warmup: int) -> list[float]:
    for k in range(warmup):
        fn(k)
    samples = []
    for k in range(steps):
        start = time.perf_counter()
        fn(k)
        samples.append(time.perf_counter() - start)
    return samples


def bench_variant(root: Path, steps: int, warmup: int) -> None:
    rng = np.random.default_rng(0)
    unitree, generic = load_velocity_policy(root), load_metadata_policy(root)
    q = np.zeros(29)
    q[:12] = unitree.layout.default_angles
    qs = q + rng.normal(0, 0.02, (256, 29))
    dqs = rng.normal(0, 0.3, (256, 29))
    quat, gyro, cmd = (1.0, 0.0, 0.0, 0.0), np.zeros(3), (0.3, 0.0, 0.0)

    def unitree_step(k: int) -> object:
        return unitree.step(qs[k % 256], dqs[k % 256], quat, gyro, cmd, k * 0.02)

    def generic_step(k: int) -> object:
        return generic.step(qs[k % 256, :12], dqs[k % 256, :12], quat, gyro, cmd, k * 0.02)

    stepper = unitree._stepper
    obs = unitree.observation(q, np.zeros(29), quat, gyro, cmd, 0.0).reshape(1, -1)
    feed = {stepper.obs_input: obs, **stepper.state}
    names = [stepper.action_output, *(o for _, o in stepper.state_pairs)]

    kind = "LSTM" if unitree.recurrent else "MLP "
    for label, fn in (
        ("unitree_velocity_g1_v0 step", unitree_step),
        ("onnx_metadata_v1 step      ", generic_step),
        ("bare session.run           ", lambda _k: stepper.session.run(names, feed)),
    ):
        print(f"{kind} {label}  {percentiles(measure(fn, steps, warmup))}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="g1-policy-bench-") as tmp:
        for recurrent in (False, True):
            root = init_velocity_policy(Path(tmp) / ("lstm" if recurrent else "mlp"), recurrent=recurrent)
            bench_variant(root, args.steps, args.warmup)
    print("budget: control_dt 0.02 s = 20000 us per step (50 Hz)")


if __name__ == "__main__":
    main()
