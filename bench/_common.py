"""Shared bench plumbing: an in-process sidecar (ROS node + session manager) and a feed process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))

from runtime.ros.executor_thread import RosExecutorThread  # noqa: E402
from runtime.ros.sidecar_node import SidecarNode  # noqa: E402
from runtime.session import SessionManager, SessionSettings, SessionStore  # noqa: E402


class InProcessSidecar:
    """The sidecar's runtime half (ROS node + sessions) without HTTP, for measurements."""

    def __init__(self, settings: SessionSettings | None = None) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="runrobot-bench-")
        self.ros = RosExecutorThread()
        self.node = self.ros.add_node(SidecarNode(context=self.ros.context))
        self.ros.start()
        self.manager = SessionManager(
            SessionStore(Path(self.tmp.name) / "bench.db"), settings or SessionSettings(), self.node
        )

    def close(self) -> None:
        self.manager.shutdown()
        self.ros.shutdown()
        self.tmp.cleanup()


def start_feed(cameras: dict[str, str], joint_topic: str, image_size: str, fps: float = 30.0) -> subprocess.Popen:
    """``runrobot feed`` in its own process, publishing to explicit topics."""
    args = [sys.executable, "-m", "runrobot", "feed", "--joint-topic", joint_topic, "--fps", str(fps)]
    args += ["--image-size", image_size]
    for cam, topic in cameras.items():
        args += ["--camera", f"{cam}={topic}"]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL)


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
