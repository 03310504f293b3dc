"""G1 lowcmd loop timing: ``runrobot g1 sim --fixed-base`` + ``runrobot g1 lowcmd`` in RUN, real ROS 2.

For each publish rate (``--rates``, default 500 and 50 Hz), for ``--seconds`` (default 60) in RUN:

* publish-loop and policy-loop period error (wake-up time minus the absolute deadline), p50/p99/max
  over the whole run, from the node's own figures (printed by the node when it stops);
* policy step latency (observation + onnxruntime + checks), from the node;
* /lowcmd inter-arrival error at a receiver (this process; includes DDS delivery and its scheduling);
* /lowstate -> /lowcmd latency: for each LowState received here, the time until the next LowCmd is
  received here (the node sends on its own clock, so ~U(0, period) + delivery), and inside the node
  the age of the latest LowState at each send.

The stand-in policy (``runrobot g1 init-policy``) is used. The machine's load is printed: other
processes on a 2-core machine show up in every figure.

Usage: python bench/g1_loop.py [--seconds 60] [--rates 500,50] [--spin 0.0004]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
os.environ.setdefault("MUJOCO_GL", "egl")

from tests.g1.g1_helpers import G1Recorder  # noqa: E402


def pct(values: np.ndarray, scale: float = 1e3) -> str:
    if values.size == 0:
        return "n/a"
    v = values * scale
    return f"p50 {np.percentile(v, 50):7.3f}  p99 {np.percentile(v, 99):7.3f}  max {v.max():8.3f} ms  (n={v.size})"


def fmt(summary: dict | None) -> str:
    if not summary or summary.get("p50_ms") is None:
        return "n/a"
    return f"p50 {summary['p50_ms']:7.3f}  p99 {summary['p99_ms']:7.3f}  max {summary['max_ms']:8.3f} ms"


def runrobot(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "runrobot", *args],
        cwd=ROOT,
        stdout=open(log, "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def final_stats(log: Path) -> dict:
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if line.startswith("g1 lowcmd stopped: "):
            return json.loads(line.removeprefix("g1 lowcmd stopped: "))
    raise RuntimeError(f"no final stats in {log}:\n{log.read_text(errors='replace')[-3000:]}")


def run_rate(rate: float, seconds: float, spin: float, policy: Path, work: Path) -> None:
    domain = int(os.environ["ROS_DOMAIN_ID"])
    rec = G1Recorder(domain, name=f"g1_bench_{int(rate)}")
    window = int((seconds + 30) * max(rate, 50)) + 1000
    sim = runrobot(["g1", "sim", "--fixed-base"], work / f"sim_{int(rate)}.log")
    lowcmd = runrobot(
        ["g1", "lowcmd", "--policy", str(policy), "--rate", str(rate), "--spin", str(spin)]
        + ["--stats-window", str(window), "--move-time", "1.0"],
        work / f"lowcmd_{int(rate)}.log",
    )
    try:
        rec.wait_state("ZERO_TORQUE", 60)
        for trigger, state in (("start", "HOLD_DEFAULT"), ("run", "RUN")):
            if rec.status["state"] == "DAMPING" and trigger == "start":
                trigger = "default"  # a startup hiccup damped it: stand up from there
            rec.request(trigger)
            rec.wait_state(state, 10)
        load0 = os.getloadavg()
        t0 = time.monotonic()
        print(f"  {rate:.0f} Hz: RUN for {seconds:.0f} s (load {load0[0]:.2f}) ...", flush=True)
        time.sleep(seconds)
        t1 = time.monotonic()
        status = rec.status
        sim_status = rec.sim_status
    finally:
        stop(lowcmd)
        stop(sim)
        rec.shutdown()
    stats = final_stats(work / f"lowcmd_{int(rate)}.log")
    loop = stats["loop"]
    cmds = np.array([c.t for c in rec.lowcmds if t0 <= c.t <= t1])
    states = np.array([s.t for s in rec.lowstates if t0 <= s.t <= t1])
    inter = np.abs(np.diff(cmds) - 1.0 / rate) if cmds.size > 2 else np.array([])
    idx = np.searchsorted(cmds, states, side="right")
    ok = idx < cmds.size
    follow = cmds[idx[ok]] - states[ok]
    print(f"  state {status['state']}, safety events {status['counters']}")
    print(f"  publish loop {loop['publish']['rate_hz']:.0f} Hz period error : {fmt(loop['publish']['period_error'])}")
    print(f"     skipped ticks {loop['publish']['skipped_ticks']}, SCHED_FIFO {loop['publish']['realtime_priority']}")
    print(f"  policy loop {loop['policy']['rate_hz']:.0f} Hz period error   : {fmt(loop['policy']['period_error'])}")
    print(f"  policy step latency               : {fmt(loop.get('policy_step'))}")
    print(f"  /lowcmd inter-arrival error (rx)  : {pct(inter)}")
    print(f"  /lowstate -> next /lowcmd (rx)    : {pct(follow)}")
    print(f"  LowState age at send (node)       : {fmt(loop.get('state_age_at_send'))}")
    rx_states = np.diff(states) if states.size > 2 else np.array([0.0])
    print(
        f"  stalls: node skipped ticks {loop['publish']['skipped_ticks']}, sim skipped ticks "
        f"{sim_status.get('skipped_ticks')} (dropped steps {sim_status.get('dropped_steps')}), receiver "
        f"/lowstate gaps > 10 ms: {int((rx_states > 0.01).sum())} (max {rx_states.max() * 1e3:.1f} ms)"
    )
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rates", default="500,50", help="comma-separated publish rates, Hz")
    parser.add_argument("--spin", type=float, default=0.0004, help="busy-wait before each deadline, s")
    args = parser.parse_args()

    from runtime.g1.velocity_policy_init import init_velocity_policy

    work = Path(tempfile.mkdtemp(prefix="g1-bench-"))
    policy = init_velocity_policy(work / "policy")
    print(f"G1 lowcmd loop bench: {os.cpu_count()} CPUs, spin {args.spin * 1e3:.2f} ms, logs in {work}")
    for rate in (float(r) for r in args.rates.split(",") if r.strip()):
        run_rate(rate, args.seconds, args.spin, policy, work)


if __name__ == "__main__":
    main()
