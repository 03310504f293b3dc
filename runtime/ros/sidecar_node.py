"""The sidecar's ROS 2 node: each session's rooms become subscriptions and a publisher."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_msgs.msg import String

from runtime.images import ImageDecodeError
from runtime.ros.messages import compressed_msg_to_rgb, image_msg_to_rgb, joint_state_msg, stamp_to_ns
from runtime.session.session import InferenceSession, JointCommand

log = logging.getLogger(__name__)

# Best effort subscribers match both best-effort and reliable publishers.
SENSOR_QOS = QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)


def _record_latency(session: InferenceSession, msg: Image | CompressedImage) -> None:
    """Wall-clock transit time of a stamped camera message (same-host publishers)."""
    stamp = stamp_to_ns(msg.header.stamp)
    if stamp:
        session.stats.frame_latency.add((time.time_ns() - stamp) / 1e9)


class SidecarNode(Node):
    """Implements the session manager's RoomBridge over ROS 2 topics."""

    def __init__(self, name: str = "runrobot_sidecar", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._lock = threading.Lock()
        self._entities: dict[str, list[Any]] = {}
        self._sinks: dict[str, Any] = {}

    def attach(self, session: InferenceSession) -> None:
        sid = session.session_id
        rooms = session.rooms
        entities: list[Any] = []
        for cam, room in rooms.cameras.items():
            entities.append(
                self.create_subscription(
                    Image, room.topic, self._frame_callback(session, cam, image_msg_to_rgb), SENSOR_QOS
                )
            )
            entities.append(
                self.create_subscription(
                    CompressedImage,
                    f"{room.topic}/compressed",
                    self._frame_callback(session, cam, compressed_msg_to_rgb),
                    SENSOR_QOS,
                )
            )
        entities.append(
            self.create_subscription(JointState, rooms.joint_input.topic, self._joint_callback(session), SENSOR_QOS)
        )
        entities.append(
            self.create_subscription(String, rooms.telemetry_topic("sim"), self._telemetry_callback(session, "sim"), 5)
        )
        publisher = self.create_publisher(JointState, rooms.joint_output.topic, COMMAND_QOS)
        entities.append(publisher)

        def publish(command: JointCommand) -> None:
            publisher.publish(joint_state_msg(command.names, command.positions))

        session.add_sink(publish)
        with self._lock:
            self._entities[sid] = entities
            self._sinks[sid] = publish
        log.info("session %s: rooms on ROS 2: %s", sid, [r.topic for r in rooms.all_rooms()])

    def detach(self, session: InferenceSession) -> None:
        sid = session.session_id
        with self._lock:
            entities = self._entities.pop(sid, [])
            sink = self._sinks.pop(sid, None)
        if sink is not None:
            session.remove_sink(sink)
        for entity in entities:
            if hasattr(entity, "publish"):
                self.destroy_publisher(entity)
            else:
                self.destroy_subscription(entity)

    @staticmethod
    def _frame_callback(session: InferenceSession, camera: str, decode):
        """A camera subscription callback: ``decode`` (raw or compressed) -> the session's inputs."""

        def on_frame(msg: Image | CompressedImage) -> None:
            received = time.monotonic()
            try:
                rgb = decode(msg)
            except (ImageDecodeError, ValueError) as exc:
                session.reject_input("image_encoding", f"camera {camera}: {exc}")
                return
            if session.submit_frame(camera, rgb, received):
                _record_latency(session, msg)

        return on_frame

    @staticmethod
    def _telemetry_callback(session: InferenceSession, source: str):
        def on_telemetry(msg: String) -> None:
            try:
                data = json.loads(msg.data)
            except json.JSONDecodeError:
                session.reject_input("telemetry", f"{source} telemetry is not JSON")
                return
            if isinstance(data, dict):
                session.telemetry[source] = data

        return on_telemetry

    @staticmethod
    def _joint_callback(session: InferenceSession):
        def on_joints(msg: JointState) -> None:
            session.submit_joint_state(list(msg.name), list(msg.position), time.monotonic())

        return on_joints
