"""WebRTC relay benchmark: glass-to-glass latency, received fps and server CPU for 1 and 4
viewers of one 640x480@30 camera room.

Three processes: the server (``python -m runrobot serve``), a publisher writing 640x480
rgb8 frames into the room topic with the wall-clock ms timestamp as a barcode in the top
rows, and this process with the aiortc viewers, which decode the barcode of every received
frame. Server CPU is sampled with psutil during each phase.
All ICE candidates are 127.0.0.1.

Note: aiortc's receiver hands a frame to the decoder only when the first packet of the
next frame arrives, so an aiortc viewer's latency includes one frame interval (~33 ms)
that a browser (which uses the RTP marker bit) does not have.

Usage: python bench/webrtc.py [--seconds 10] [--viewers 1 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WIDTH, HEIGHT, FPS = 640, 480, 30.0
BITS = 40  # the wall-clock ms timestamp modulo 2**40 (34 years)
BIT_W = 16  # one bit per 16x16 VP8 macroblock column: 40 * 16 = 640 px
BAR_H = 32  # two barcode copies, rows 0-31 and 32-63; a frame counts only if both agree
WRAP = 1 << BITS


# ------------------------------------------------------------------------------ barcode


def draw_barcode(rgb: np.ndarray, value: int) -> None:
    bits = ((value % WRAP) >> np.arange(BITS - 1, -1, -1)) & 1
    row = np.repeat(bits.astype(np.uint8) * 255, BIT_W)
    rgb[: 2 * BAR_H, : row.size] = row[None, :, None]


def read_barcode(luma: np.ndarray) -> int | None:
    values = []
    for top in (0, BAR_H):
        band = luma[top + 8 : top + BAR_H - 8, : BITS * BIT_W].reshape(BAR_H - 16, BITS, BIT_W)
        bits = band[:, :, 4:-4].mean(axis=(0, 2)) > 128
        values.append(int("".join("1" if b else "0" for b in bits), 2))
    return values[0] if values[0] == values[1] else None


# ------------------------------------------------------------------------------ child modes


def publish(topic: str, seconds: float) -> None:
    """640x480 rgb8 at 30 fps on ``topic``: moving content plus the barcode of the publish time."""
    from sensor_msgs.msg import Image

    from runtime.deadline_loop import DeadlineLoop
    from runtime.ros.executor_thread import RosExecutorThread
    from runtime.ros.messages import rgb_to_image_msg
    from runtime.ros.synthetic_inputs_node import FEED_QOS, synthetic_frame

    ros = RosExecutorThread("bench-publisher")
    from rclpy.node import Node

    node = ros.add_node(Node("bench_webrtc_publisher", context=ros.context))
    pub = node.create_publisher(Image, topic, FEED_QOS)
    ros.start()

    def tick(k: int, _deadline: float) -> None:
        rgb = synthetic_frame(HEIGHT, WIDTH, k)
        draw_barcode(rgb, time.time_ns() // 1_000_000)
        pub.publish(rgb_to_image_msg(rgb))

    loop = DeadlineLoop(FPS, tick, name="bench-publish")
    loop.start()
    time.sleep(seconds)
    loop.stop()
    ros.shutdown()


# ------------------------------------------------------------------------------ orchestration


def http(method: str, url: str, body: dict | None = None):
    import httpx

    response = httpx.request(method, url, json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def wait_for(predicate, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


class ViewerStats:
    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.frames = 0
        self.unreadable = 0
        self.sizes: set[tuple[int, int]] = set()
        self.recording = False

    def on_frame(self, frame) -> None:
        now_ms = time.time_ns() / 1e6
        if not self.recording:
            return
        self.frames += 1
        self.sizes.add((frame.width, frame.height))
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
        stamp = read_barcode(luma)
        if stamp is None:
            self.unreadable += 1
        else:
            self.latencies_ms.append((now_ms - stamp) % WRAP)


async def run_phase(url: str, room_id: str, viewers: int, seconds: float, server_pid: int) -> dict:
    import httpx
    import psutil
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    from runtime.webrtc.ice import install_loopback_host_candidates
    from runtime.webrtc.sdp import filter_candidates

    install_loopback_host_candidates(loopback_only=True)  # aioice: 127.0.0.1 host candidates for the viewers

    def loopback(sdp: str) -> str:
        return filter_candidates(sdp, lambda a: a == "127.0.0.1")

    pcs, stats, tasks = [], [], []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(viewers):
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            vs = ViewerStats()

            def on_track(track, vs=vs) -> None:
                async def consume() -> None:
                    try:
                        while True:
                            vs.on_frame(await track.recv())
                    except MediaStreamError:
                        pass

                tasks.append(asyncio.ensure_future(consume()))

            pc.on("track", on_track)
            pc.addTransceiver("video", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            body = {"sdp": loopback(pc.localDescription.sdp), "type": "offer", "room_id": room_id}
            response = await client.post(f"{url}/webrtc/offer", json={**body, "direction": "recvonly"})
            response.raise_for_status()
            await pc.setRemoteDescription(RTCSessionDescription(loopback(response.json()["sdp"]), "answer"))
            pcs.append(pc)
            stats.append(vs)
        await asyncio.sleep(3.0)  # connect, first keyframe, settle
        proc = psutil.Process(server_pid)
        proc.cpu_percent(None)
        for vs in stats:
            vs.recording = True
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        cpu = proc.cpu_percent(None)
        for vs in stats:
            vs.recording = False
        relay = (await client.get(f"{url}/webrtc/stats")).json()["relays"]
    for pc in pcs:
        await pc.close()
    for task in tasks:
        task.cancel()
    latencies = [x for vs in stats for x in vs.latencies_ms]
    return {
        "viewers": viewers,
        "fps": [vs.frames / elapsed for vs in stats],
        "latencies": latencies,
        "unreadable": sum(vs.unreadable for vs in stats),
        "sizes": set().union(*(vs.sizes for vs in stats)),
        "cpu": cpu,
        "encoders": sum(r["encoders"] for r in relay if r["room_id"] == room_id),
        "encode_ms": next((r["encode_p50_ms"] for r in relay if r["room_id"] == room_id), None),
    }


def idle_cpu(server_pid: int, seconds: float) -> float:
    import psutil

    proc = psutil.Process(server_pid)
    proc.cpu_percent(None)
    time.sleep(seconds)
    return proc.cpu_percent(None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement per phase")
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--publish", nargs=2, metavar=("TOPIC", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(args.publish[0], float(args.publish[1]))
        return 0

    import socket

    from runtime.policies.act.checkpoint import init_act_checkpoint

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
    os.environ["RUNROBOT_ICE_LOOPBACK_ONLY"] = "1"  # the server's candidates: 127.0.0.1 only
    tmp = tempfile.mkdtemp(prefix="runrobot-bench-webrtc-")
    ckpt = init_act_checkpoint(Path(tmp) / "act", cameras=["front"], image_size=(HEIGHT, WIDTH), chunk_size=20)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "runrobot", "serve", "--port", str(port), "--data-dir", str(Path(tmp) / "data")]
    log = open(Path(tmp) / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    publisher = None
    try:
        wait_for(lambda: http("GET", f"{url}/health") is not None, "the server", 60)
        body = {"session_id": "bench_webrtc", "policy_path": str(ckpt), "camera_names": ["front"]}
        room_id = http("POST", f"{url}/sessions", body)["camera_room_ids"]["front"]
        topic = http("GET", f"{url}/sessions/bench_webrtc")["rooms"]["cameras"]["front"]["topic"]
        total = 8 + len(args.viewers) * (args.seconds + 6) + args.seconds + 10
        publisher = subprocess.Popen([sys.executable, __file__, "--publish", topic, str(total)], cwd=ROOT)
        time.sleep(3.0)  # discovery
        results = [{"viewers": 0, "cpu": idle_cpu(server.pid, args.seconds)}]
        for n in args.viewers:
            results.append(asyncio.run(run_phase(url, room_id, n, args.seconds, server.pid)))
            time.sleep(2.0)
        report(results, "python -m runrobot serve")
    finally:
        for proc in (publisher, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()
    return 0


def report(results: list[dict], command: str) -> None:
    print("\n== bench/webrtc.py: one 640x480@30 camera room, VP8, aiortc viewers on 127.0.0.1 ==")
    print(f"server: {command}")
    columns = ("viewers", "fps/viewer", "lat p50", "p90", "max", "barcodes", "encode", "server CPU", "encoders")
    rows = []
    for r in results:
        if not r["viewers"]:
            rows.append(("0 (feed only)", "-", "-", "-", "-", "-", "-", f"{r['cpu']:.0f}%", "0"))
            continue
        lat = sorted(r["latencies"]) or [float("nan")]
        rows.append(
            (
                str(r["viewers"]),
                f"{statistics.mean(r['fps']):.1f}",
                f"{statistics.median(lat):.0f} ms",
                f"{lat[int(0.9 * (len(lat) - 1))]:.0f} ms",
                f"{lat[-1]:.0f} ms",
                f"{len(r['latencies'])}/{len(r['latencies']) + r['unreadable']}",
                f"{r['encode_ms']} ms",
                f"{r['cpu']:.0f}%",
                str(r["encoders"]),
            )
        )
        sizes = {f"{w}x{h}" for w, h in r["sizes"]}
        if sizes != {f"{WIDTH}x{HEIGHT}"}:
            print(f"warning: {r['viewers']} viewer(s) received sizes {sorted(sizes)}")
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
    print("goals: 30 fps per viewer, median latency < 60 ms, CPU(4 viewers) < 2 x CPU(1 viewer)")
    by_viewers = {r["viewers"]: r for r in results}
    if 1 in by_viewers and 4 in by_viewers:
        print(f"CPU(4) / CPU(1) = {by_viewers[4]['cpu'] / max(by_viewers[1]['cpu'], 1e-9):.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
