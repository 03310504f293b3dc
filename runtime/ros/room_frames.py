"""Camera rooms as frame streams for WebRTC: subscribe to a room topic (raw and
``/compressed``) and publish RGB frames into it, on the sidecar's rclpy node.

Implements ``runtime.webrtc.frames.FrameSource`` and ``FrameSink``. Subscriptions and
publishers are shared per topic and reference-counted: the first user creates them,
the last one destroys them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CompressedImage, Image

from runtime.images import ImageDecodeError
from runtime.ros.messages import compressed_msg_to_rgb, image_msg_to_rgb, rgb_to_image_msg
from runtime.ros.sidecar_node import SENSOR_QOS

log = logging.getLogger(__name__)

FrameCallback = Callable[[np.ndarray], None]


@dataclass
class _Subscribed:
    callbacks: list[FrameCallback] = field(default_factory=list)
    subscriptions: list[Any] = field(default_factory=list)
    decode_errors: int = 0


@dataclass
class _Advertised:
    publisher: Any
    users: int = 0


class RoomPublisher:
    """Publishes RGB frames to one topic as ``sensor_msgs/Image`` rgb8; ``close`` releases it."""

    def __init__(self, frames: RoomFrames, topic: str, publisher: Any) -> None:
        self._frames = frames
        self._publisher = publisher
        self._lock = threading.Lock()
        self.topic = topic
        self.closed = False

    def publish(self, rgb: np.ndarray) -> None:
        msg = rgb_to_image_msg(rgb, frame_id="webrtc")
        with self._lock:
            if not self.closed:
                self._publisher.publish(msg)

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._frames._release_publisher(self.topic)


class RoomFrames:
    """Frame source and sink over room topics on ``node``."""

    def __init__(self, node: Node, qos: QoSProfile = SENSOR_QOS) -> None:
        self._node = node
        self._qos = qos
        self._lock = threading.Lock()
        self._subscribed: dict[str, _Subscribed] = {}
        self._advertised: dict[str, _Advertised] = {}

    # ---- FrameSource ---------------------------------------------------------------------
    def subscribe(self, topic: str, on_frame: FrameCallback) -> Callable[[], None]:
        """Call ``on_frame(rgb)`` (on the executor thread) for each image on ``topic`` or
        ``<topic>/compressed``; returns the function that unsubscribes."""
        with self._lock:
            entry = self._subscribed.get(topic)
            if entry is None:
                entry = self._subscribed[topic] = _Subscribed()
                entry.subscriptions = [
                    self._node.create_subscription(Image, topic, self._dispatch(entry, image_msg_to_rgb), self._qos),
                    self._node.create_subscription(
                        CompressedImage, f"{topic}/compressed", self._dispatch(entry, compressed_msg_to_rgb), self._qos
                    ),
                ]
                log.debug("subscribed to %s", topic)
            entry.callbacks = [*entry.callbacks, on_frame]
        done = threading.Event()

        def unsubscribe() -> None:
            if not done.is_set():
                done.set()
                self._unsubscribe(topic, on_frame)

        return unsubscribe

    def _unsubscribe(self, topic: str, on_frame: FrameCallback) -> None:
        with self._lock:
            entry = self._subscribed.get(topic)
            if entry is None:
                return
            entry.callbacks = [cb for cb in entry.callbacks if cb is not on_frame]
            if entry.callbacks:
                return
            del self._subscribed[topic]
        for subscription in entry.subscriptions:
            self._node.destroy_subscription(subscription)
        log.debug("unsubscribed from %s", topic)

    @staticmethod
    def _dispatch(entry: _Subscribed, decode: Callable[[Any], np.ndarray]) -> Callable[[Any], None]:
        def on_msg(msg: Any) -> None:
            callbacks = entry.callbacks  # replaced, never mutated: safe without the lock
            if not callbacks:
                return
            try:
                rgb = decode(msg)
            except ImageDecodeError as exc:
                entry.decode_errors += 1
                if entry.decode_errors <= 3:
                    log.warning("undecodable image for WebRTC: %s", exc)
                return
            for callback in callbacks:
                try:
                    callback(rgb)
                except Exception:
                    log.exception("frame callback failed")

        return on_msg

    # ---- FrameSink -----------------------------------------------------------------------
    def advertise(self, topic: str) -> RoomPublisher:
        with self._lock:
            entry = self._advertised.get(topic)
            if entry is None:
                entry = self._advertised[topic] = _Advertised(self._node.create_publisher(Image, topic, self._qos))
            entry.users += 1
            return RoomPublisher(self, topic, entry.publisher)

    def _release_publisher(self, topic: str) -> None:
        with self._lock:
            entry = self._advertised.get(topic)
            if entry is None:
                return
            entry.users -= 1
            if entry.users > 0:
                return
            del self._advertised[topic]
        self._node.destroy_publisher(entry.publisher)
