"""Image transport benchmark: three cameras at 640x480 rgb8, 30 Hz, into one session.
Prints the fraction of frames delivered and receive latency (stamp -> callback) p50/p99.

Usage: python bench/ros_images.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import InProcessSidecar, start_feed, stop_process

from runtime.policies.act.checkpoint import init_act_checkpoint

CAMERAS = ["front", "wrist", "top"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()

    ckpt = init_act_checkpoint(
        Path(tempfile.mkdtemp(prefix="act-bench-")) / "act3", cameras=CAMERAS, image_size=(480, 640), chunk_size=20
    )
    sidecar = InProcessSidecar()
    try:
        entry = sidecar.manager.create("images", str(ckpt), CAMERAS)
        session = entry.session
        feed = start_feed(
            {cam: room.topic for cam, room in entry.rooms.cameras.items()},
            entry.rooms.joint_input.topic,
            "480x640",
            args.fps,
        )
        deadline = time.monotonic() + 30
        while not session.stats.io()["frames_received"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)  # settle discovery and SHM
        session.stats.reset()
        t0 = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - t0
        io = session.stats.io()
        stop_process(feed)
        expected = args.fps * elapsed
        print("\n== bench/ros_images.py ==")
        print(f"profile        {os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE')}")
        print(f"cameras        {len(CAMERAS)} x 640x480 rgb8 at {args.fps:.0f} Hz for {elapsed:.1f} s")
        for cam in CAMERAS:
            got = io["frames_received"].get(cam, 0)
            print(f"delivered      {cam:<6} {got}/{expected:.0f} = {got / expected:.1%}  (goal >= 99%)")
        p50, p99 = io["frame_latency_p50_ms"], io["frame_latency_p99_ms"]
        print(f"latency        p50 {p50} ms, p99 {p99} ms  (goal p99 < 20 ms)")
    finally:
        sidecar.close()


if __name__ == "__main__":
    main()
