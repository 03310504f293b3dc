"""Control-loop benchmark: one ACT session at 30 Hz (1 camera, 224x224, chunk 100) fed by a
publisher process for 60 s. Prints starved ticks, the command period error seen by a
subscriber in another process (as a robot would see it), and the runtime's overhead: median
observation-to-chunk-enqueued time over the bare ``predict_action_chunk`` calls of the same
chunks in the same run (plus a bare re-run on the last observation after the session stops).

Usage: python bench/control_loop.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import InProcessSidecar, start_feed, stop_process
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState

from runtime.policies.act.checkpoint import init_act_checkpoint


def record(topic: str, seconds: float, out: str, realtime: bool) -> None:
    """Child mode: receive JointState commands for ``seconds``; write receive and header-stamp times.

    A persistent executor (``rclpy.spin_once`` re-adds the node on every call). With ``realtime``,
    every thread of this process runs at SCHED_FIFO 5, as a robot driver's receive path would.
    """
    import os

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from runtime.ros.environment import prepare_ros_environment

    prepare_ros_environment()
    rclpy.init()
    node = rclpy.create_node("bench_command_recorder")
    received: list[tuple[float, float, float]] = []  # (monotonic rx, wall rx, header stamp)

    def on_msg(msg: JointState) -> None:
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        received.append((time.monotonic(), time.time(), stamp))

    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(JointState, topic, on_msg, qos)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    if realtime:
        for tid in (int(t) for t in os.listdir("/proc/self/task")):
            try:
                os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(5))
            except OSError:
                print("recorder: SCHED_FIFO not permitted; running as an ordinary process", flush=True)
                break
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        executor.spin_once(timeout_sec=0.1)
    Path(out).write_text(json.dumps(received))
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--record", nargs=3, metavar=("TOPIC", "SECONDS", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--realtime-recorder", action="store_true", help="run the subscriber process at SCHED_FIFO 5 (as a driver)"
    )
    args = parser.parse_args()
    if args.record:
        record(args.record[0], float(args.record[1]), args.record[2], args.realtime_recorder)
        return

    ckpt = init_act_checkpoint(Path(tempfile.mkdtemp(prefix="act-bench-")) / "act", image_size=(224, 224))
    sidecar = InProcessSidecar()
    try:
        entry = sidecar.manager.create("bench", str(ckpt), ["front"])
        session = entry.session
        period = 1.0 / session.fps

        received_file = Path(tempfile.mkdtemp(prefix="bench-rx-")) / "received.json"
        recorder = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--record",
                entry.rooms.joint_output.topic,
                str(args.seconds + 8),
                received_file,
                *(["--realtime-recorder"] if args.realtime_recorder else []),
            ],
            cwd=Path(__file__).parent,
        )
        feed = start_feed({"front": entry.rooms.cameras["front"].topic}, entry.rooms.joint_input.topic, "224x224")
        deadline = time.monotonic() + 30
        while not session.inputs.ages(time.monotonic())["joints"] and time.monotonic() < deadline:
            time.sleep(0.1)
        sidecar.manager.start("bench")
        print(f"running ACT session at {session.fps:.0f} Hz for {args.seconds:.0f} s ...", flush=True)
        time.sleep(args.seconds)
        inference = session.inference_stats()
        io = session.io_stats()
        wake = io["loop_wake_error"] or {}
        sidecar.manager.stop("bench")

        # Bare predict_action_chunk on the same inputs, same process, feed still running.
        observation = session.inputs.snapshot(time.monotonic(), 0)
        policy = session.policy
        bare = []
        with torch.inference_mode():
            for _ in range(30):
                batch = policy.prepare(observation)
                t0 = time.perf_counter()
                policy.policy.predict_action_chunk(batch)
                bare.append(time.perf_counter() - t0)
        stop_process(feed)
        recorder.wait(30)
        rx = np.array(json.loads(received_file.read_text())).reshape(-1, 3)
        rx = rx[rx[:, 0] > rx[0, 0] + 1.0] if len(rx) > 40 else rx
        times = rx[:, 0]
        errors_ms = np.abs(np.diff(times) - period) * 1e3 if times.size > 2 else np.array([np.nan])
        transit_ms = (rx[:, 1] - rx[:, 2]) * 1e3 if len(rx) else np.array([np.nan])
        stamp_errors_ms = np.abs(np.diff(rx[:, 2]) - period) * 1e3 if len(rx) > 2 else np.array([np.nan])
        enqueue = session.stats.inference_latency.values()
        model = session.stats.model_latency.values()
        ratio = float(np.median(enqueue)) / float(np.median(model))

        print("\n== bench/control_loop.py ==")
        print(
            f"duration                      {args.seconds:.0f} s at {session.fps:.0f} Hz, chunk {policy.io.chunk_size}"
        )
        print(f"commands published            {io['commands_published']}")
        print(f"chunks predicted              {inference['chunks']}")
        starved, warmup = inference["starved_ticks"], inference["warmup_ticks"]
        print(f"starved ticks                 {starved}  (goal 0; warm-up ticks before the first chunk {warmup})")
        print(f"stale-input pauses            {inference['stale_input_pauses']}")
        interval = f"p50 {io['command_interval_p50_ms']} ms, p99 {io['command_interval_p99_ms']} ms"
        print(f"command interval (sender)     {interval}")
        print(f"loop wake error               p50 {wake.get('p50_ms')} ms, p99 {wake.get('p99_ms')} ms")
        print(f"control thread SCHED_FIFO     {io['control_thread_realtime']}")
        print(
            f"command period error (ROS rx) p50 {np.percentile(errors_ms, 50):.3f} ms, "
            f"p99 {np.percentile(errors_ms, 99):.3f} ms  (goal p99 < 1 ms)"
        )
        late = int(np.sum(errors_ms > 5.0))
        rt = args.realtime_recorder
        print(f"commands late > 5 ms at rx    {late} of {errors_ms.size}  (recorder SCHED_FIFO: {rt})")
        print(
            f"header stamp period error     p50 {np.percentile(stamp_errors_ms, 50):.3f} ms, "
            f"p99 {np.percentile(stamp_errors_ms, 99):.3f} ms  (when the sender stamped each command)"
        )
        print(
            f"publish -> callback latency   p50 {np.percentile(transit_ms, 50):.3f} ms, "
            f"p99 {np.percentile(transit_ms, 99):.3f} ms, max {np.max(transit_ms):.3f} ms"
        )
        print(f"obs -> chunk enqueued         p50 {np.median(enqueue) * 1e3:.1f} ms")
        print(f"predict_action_chunk (in run) p50 {np.median(model) * 1e3:.1f} ms")
        print(f"runtime overhead ratio        {ratio:.3f}  (goal <= 1.05)")
        print(
            f"bare re-run after stop        p50 {statistics.median(bare) * 1e3:.1f} ms (same observation, same process)"
        )
    finally:
        sidecar.close()


if __name__ == "__main__":
    main()
