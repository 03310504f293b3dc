"""Run rclpy nodes on a background executor thread with a private context."""

from __future__ import annotations

import logging
import threading

import rclpy
from rclpy.context import Context
from rclpy.exceptions import InvalidHandle
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from runtime.ros.environment import prepare_ros_environment

log = logging.getLogger(__name__)


class RosExecutorThread:
    """Owns an rclpy context and an executor spinning its nodes on a daemon thread."""

    def __init__(self, name: str = "ros-executor") -> None:
        prepare_ros_environment()
        self.context = Context()
        rclpy.init(context=self.context, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
        self.executor = SingleThreadedExecutor(context=self.context)
        self._thread = threading.Thread(target=self._spin, name=name, daemon=True)
        self._nodes: list[Node] = []
        self._stopping = False

    def add_node(self, node: Node) -> Node:
        self._nodes.append(node)
        self.executor.add_node(node)
        return node

    def start(self) -> RosExecutorThread:
        self._thread.start()
        return self

    def _spin(self) -> None:
        """Spin until shutdown; a callback that raises is logged and spinning goes on.

        A subscription destroyed from another thread (a session deleted) while the executor waits on
        it raises rclpy's ``InvalidHandle`` here: expected, and the next wait set no longer has it.
        """
        while self.context.ok() and not self._stopping:
            try:
                self.executor.spin()
            except (ExternalShutdownException, rclpy.executors.ShutdownException):
                return
            except InvalidHandle as exc:
                log.debug("an entity was destroyed while the executor waited on it (%s); spinning on", exc)
            except Exception:
                log.exception("ROS callback raised; the executor keeps spinning")

    def shutdown(self) -> None:
        self._stopping = True
        self.executor.shutdown(timeout_sec=1.0)
        for node in self._nodes:
            node.destroy_node()
        if self.context.ok():
            rclpy.shutdown(context=self.context)
        self._thread.join(timeout=2.0)
