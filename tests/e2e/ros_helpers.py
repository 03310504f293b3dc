"""Helpers for the cross-process ROS 2 end-to-end tests.

* ``RosTestNode``: an rclpy node on its own ``Context`` and executor thread, for the test
  process to publish inputs and record the sidecar's joint commands.
* ``RunrobotProcess``: a ``python -m runrobot ...`` child with its output in a log file,
  stopped with SIGINT (then SIGKILL) and always reaped.
* Small HTTP and polling utilities.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.support import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


# =========================================================================== polling / HTTP


def http(method: str, url: str, body: dict | None = None, timeout: float = 60.0) -> tuple[int, Any]:
    """(status, decoded JSON body) for any status code."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except json.JSONDecodeError:
            return exc.code, raw.decode(errors="replace")


# =========================================================================== child processes


def ros_env(domain: int) -> dict[str, str]:
    """The environment for a child process on ROS domain ``domain``, discovery limited to this host."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(domain)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class RunrobotProcess:
    """A ``python -m runrobot <args>`` child whose stdout+stderr go to ``log_path``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runrobot", *args],
            env=env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C on the test run does not hit the child first
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> int:
        """Send ``sig`` and wait; SIGTERM then SIGKILL if it lingers. Returns the exit code."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.terminate()
                    try:
                        self.proc.wait(3.0)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait(5.0)
            return self.proc.returncode
        finally:
            self._log.close()


class ServeProcess(RunrobotProcess):
    """``runrobot serve`` on a free port with a private data dir."""

    def __init__(self, env: dict[str, str], data_dir: Path, log_path: Path, extra: list[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            "serve",
            ["serve", "--port", str(self.port), "--data-dir", str(data_dir), *(extra or [])],
            env,
            log_path,
        )

    def wait_healthy(self, timeout: float = 30.0) -> dict:
        def healthy() -> dict | None:
            self.check_alive()
            try:
                status, body = http("GET", f"{self.url}/health", timeout=2.0)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return None
            return body if status == 200 else None

        return wait_until(healthy, timeout, f"{self.url}/health", interval=0.1)

    def call(self, method: str, path: str, body: dict | None = None, expect: int | None = 200) -> Any:
        status, data = http(method, f"{self.url}{path}", body)
        if expect is not None and status != expect:
            raise AssertionError(
                f"{method} {path} -> {status} (expected {expect}): {data}\n--- serve log ---\n{self.log()}"
            )
        return data

    def session(self, session_id: str) -> dict:
        return self.call("GET", f"/sessions/{session_id}")


# =========================================================================== rclpy in the test process


@dataclass(frozen=True)
class ReceivedJointState:
    received_at: float  # time.monotonic() in the test process
    names: tuple[str, ...]
    positions: np.ndarray


class JointStateRecorder:
    """Keeps every JointState received on one topic (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[ReceivedJointState] = []

    def __call__(self, msg: Any) -> None:
        item = ReceivedJointState(time.monotonic(), tuple(msg.name), np.asarray(msg.position, dtype=np.float64))
        with self._lock:
            self._messages.append(item)

    @property
    def messages(self) -> list[ReceivedJointState]:
        with self._lock:
            return list(self._messages)

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def count_between(self, start: float, end: float) -> int:
        return sum(1 for m in self.messages if start <= m.received_at < end)


class RosTestNode:
    """A node in its own rclpy Context, spun by its own executor thread, on ``domain``."""

    def __init__(self, domain: int, name: str = "runrobot_e2e_test") -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self._rclpy = rclpy
        self.context = Context()
        rclpy.init(
            context=self.context,
            domain_id=domain,
            signal_handler_options=rclpy.signals.SignalHandlerOptions.NO,
        )
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.spin_error: BaseException | None = None
        self._side_nodes: list[Any] = []
        self._thread = threading.Thread(target=self._spin, name=f"{name}-executor", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass
        except BaseException as exc:  # surfaced by the tests through spin_error
            self.spin_error = exc

    # ---- entities --------------------------------------------------------------------
    def record_joint_states(self, topic: str, reliable: bool = True) -> JointStateRecorder:
        """Record a JointState topic; ``reliable=False`` also matches best-effort publishers (sensors)."""
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import JointState

        recorder = JointStateRecorder()
        reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(depth=100, reliability=reliability, history=HistoryPolicy.KEEP_LAST)
        self.node.create_subscription(JointState, topic, recorder, qos)
        return recorder

    def publisher(self, msg_type: Any, topic: str, depth: int = 10) -> Any:
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        return self.node.create_publisher(msg_type, topic, qos)

    def wait_for_match(self, entity: Any, timeout: float = 15.0) -> None:
        """Wait until a publisher has a subscriber (or a subscription has a publisher)."""
        count = entity.get_subscription_count if hasattr(entity, "publish") else entity.get_publisher_count
        wait_until(lambda: count() >= 1, timeout, f"a match on {entity.topic_name}")

    def side_node(self, name: str) -> Any:
        """A node in the same context that no executor spins: entities on it can be destroyed from the test thread.

        Destroying a publisher of the spun node while the executor waits on it races (``InvalidHandle`` in the
        executor thread, which then stops spinning). Publishers need no spinning, so intruders live here.
        """
        node = self._rclpy.create_node(name, context=self.context)
        self._side_nodes.append(node)
        return node

    def shutdown(self) -> None:
        try:
            self.executor.shutdown(timeout_sec=2.0)
            for node in self._side_nodes:
                node.destroy_node()
            self.node.destroy_node()
        finally:
            if self.context.ok():
                self._rclpy.shutdown(context=self.context)
            self._thread.join(timeout=3.0)


# =========================================================================== messages


def image_msg(
    rgb: np.ndarray,
    encoding: str = "rgb8",
    step: int | None = None,
    height: int | None = None,
    width: int | None = None,
) -> Any:
    """A sensor_msgs/Image with arbitrary (possibly inconsistent) metadata."""
    from sensor_msgs.msg import Image

    from runtime.ros.messages import stamp_now

    msg = Image()
    msg.header.stamp = stamp_now()
    msg.height = int(rgb.shape[0] if height is None else height)
    msg.width = int(rgb.shape[1] if width is None else width)
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(rgb.shape[1] * (rgb.shape[2] if rgb.ndim == 3 else 1) * rgb.itemsize if step is None else step)
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


def compressed_msg(data: bytes, fmt: str = "jpeg") -> Any:
    from sensor_msgs.msg import CompressedImage

    from runtime.ros.messages import stamp_now

    msg = CompressedImage()
    msg.header.stamp = stamp_now()
    msg.format = fmt
    msg.data = data
    return msg


def joint_msg(names: list[str], positions: list[float]) -> Any:
    from runtime.ros.messages import joint_state_msg

    return joint_state_msg(names, positions)


class PeriodicPublisher:
    """Calls ``publish_once()`` at ``hz`` on a thread until stopped."""

    def __init__(self, publish_once: Callable[[], None], hz: float = 30.0) -> None:
        self._publish_once = publish_once
        self._period = 1.0 / hz
        self._stop = threading.Event()
        self.count = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="e2e-periodic-publisher", daemon=True)

    def start(self) -> PeriodicPublisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self._publish_once()
            except BaseException as exc:  # reported by the test
                self.error = exc
                return
            self.count += 1
            next_at += self._period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
