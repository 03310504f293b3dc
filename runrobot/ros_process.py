"""Run one rclpy node as a process's main job until SIGINT/SIGTERM or a duration."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rclpy.node import Node


def init_ros() -> None:
    """rclpy with runrobot's ROS environment (Fast DDS profile, middleware)."""
    import rclpy

    from runtime.ros.environment import prepare_ros_environment

    prepare_ros_environment()
    rclpy.init()


def run_until_signalled(node: Node, start: Callable[[], None], stop: Callable[[], None], duration: float = 0.0) -> None:
    """Spin ``node`` on a thread, call ``start``, wait for a signal (or ``duration`` s), then tear down cleanly.

    A clean teardown matters: it releases the DDS participant and its shared-memory files.
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    try:
        start()
        done.wait(duration or None)
    finally:
        stop()
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()
        spin.join(timeout=2.0)
