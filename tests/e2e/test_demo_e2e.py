"""`runrobot demo` end to end: serve + simulated SO-101 + ACT session, watched over WebRTC.

Checks what a new user sees: the camera plays (aiortc client, >= 20 frames in 10 s), joint
commands flow and the simulated arm's joint states move in response, and Ctrl-C leaves no
child process and no Fast DDS shared-memory file behind.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from runtime.webrtc.ice import install_loopback_host_candidates
from tests.e2e.ros_helpers import RosTestNode, RunrobotProcess, free_port, http, ros_env, wait_until
from tests.webrtc.rtc_helpers import watch

pytestmark = pytest.mark.e2e

SHM = Path("/dev/shm")


def shm_files() -> set[str]:
    return {p.name for p in SHM.glob("*fastdds*")} | {p.name for p in SHM.glob("*fastrtps*")}


def shm_files_in_use() -> set[str]:
    """/dev/shm files some live process still maps or holds open (this test process included)."""
    used: set[str] = set()
    for proc in psutil.process_iter():
        try:
            used.update(Path(m.path).name for m in proc.memory_maps(grouped=True) if m.path.startswith("/dev/shm/"))
            used.update(Path(f.path).name for f in proc.open_files() if f.path.startswith("/dev/shm/"))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return used


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


async def count_camera_frames(url: str, room_id: str, seconds: float) -> list[tuple[int, int, float]]:
    install_loopback_host_candidates(loopback_only=True)  # this client, like the server, offers 127.0.0.1
    viewer = await watch(url, room_id)
    try:
        await viewer.wait_frames(20, seconds)
        return list(viewer.frames)
    finally:
        await viewer.pc.close()


def test_demo_closes_the_loop_streams_the_camera_and_stops_cleanly(
    ros_domain: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shm_before = shm_files()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = ros_env(ros_domain) | {"RUNROBOT_ICE_LOOPBACK_ONLY": "1", "MUJOCO_GL": "egl"}
    demo = RunrobotProcess(
        "demo",
        ["demo", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--no-browser"],
        env,
        tmp_path / "demo.log",
    )
    node = None
    try:

        def running() -> dict | None:
            demo.check_alive()
            code, body = http("GET", f"{base}/sessions/demo", timeout=5) if _up(base) else (0, None)
            return body if code == 200 and body["status"] == "running" and body["stats"].get("sim") else None

        status = wait_until(running, 180, "the demo session running with the simulator attached", interval=0.5)
        url_line = f"runrobot demo: open {base}/ui"
        wait_until(lambda: url_line in demo.log_path.read_text(errors="replace"), 15, "the printed URL")
        rooms = status["rooms"]

        # The observer talks UDP only, so every shared-memory file on this domain is the demo's own.
        monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
        monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "UDPv4")
        node = RosTestNode(ros_domain, "demo_e2e_observer")
        commands = node.record_joint_states(rooms["joint_output"]["topic"])
        sim_states = node.record_joint_states(rooms["joint_input"]["topic"], reliable=False)
        wait_until(lambda: len(commands) >= 30 and len(sim_states) >= 30, 30, "commands and sim joint states")
        t0 = time.monotonic()
        time.sleep(3.0)
        rate = commands.count_between(t0, t0 + 3.0) / 3.0
        assert rate > 15, f"joint commands at {rate:.1f} Hz"
        names = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
        assert all(m.names == names for m in commands.messages[-30:])
        positions = np.array([m.positions for m in sim_states.messages])
        assert np.ptp(positions, axis=0).max() > 2.0, "the simulated arm's joints did not move"

        frames = asyncio.run(count_camera_frames(base, rooms["cameras"]["front"]["room_id"], 10.0))
        assert len(frames) >= 20
        assert {(w, h) for w, h, _ in frames} == {(224, 224)}

        stats = http("GET", f"{base}/sessions/demo")[1]
        assert stats["inference_stats"]["chunks"] > 0
        assert stats["stats"]["sim"]["commands_applied"] > 0
    finally:
        if node is not None:
            node.shutdown()
        children = descendants(demo.pid)
        code = demo.stop(signal.SIGINT, timeout=30)
    assert code == 0, demo.log()
    assert children, "the demo should have started child processes"
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"orphans left: {[p.pid for p in alive]}"
    leaked = shm_files() - shm_before - shm_files_in_use()
    assert not leaked, f"DDS shared-memory files left behind: {sorted(leaked)}"


def _up(base: str) -> bool:
    try:
        return http("GET", f"{base}/health", timeout=2)[0] == 200
    except OSError:
        return False
