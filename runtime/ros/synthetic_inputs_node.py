"""A stand-in robot for demos and tests: publishes moving camera images and joint states.

Images are a moving gradient (so frames differ); joints follow slow sinusoids in the
normalized range. Publishing runs on a deadline loop, not an rclpy timer.
"""

from __future__ import annotations

import math
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, JointState

from runtime.deadline_loop import DeadlineLoop
from runtime.ros.messages import joint_state_msg, rgb_to_compressed_msg, rgb_to_image_msg

FEED_QOS = QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT)


def synthetic_frame(height: int, width: int, k: int) -> np.ndarray:
    """An RGB frame whose content shifts with ``k``."""
    x = (np.arange(width, dtype=np.uint16) + 4 * k) % 256
    y = (np.arange(height, dtype=np.uint16) + 2 * k) % 256
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:, :, 0] = x[None, :]
    frame[:, :, 1] = y[:, None]
    frame[:, :, 2] = (k * 3) % 256
    return frame


def synthetic_joints(names: list[str], t: float) -> list[float]:
    out = []
    for i, name in enumerate(names):
        wave = math.sin(0.5 * t + i)
        out.append(50 + 40 * wave if name == "gripper" else 60 * wave)
    return out


class SyntheticInputsNode(Node):
    """Publishes ``camera_topics`` (name -> topic) and ``joint_topic`` at ``fps``."""

    def __init__(
        self,
        camera_topics: dict[str, str],
        joint_topic: str,
        joint_names: list[str],
        image_size: tuple[int, int] = (224, 224),
        fps: float = 30.0,
        compressed: bool = False,
        encoding: str = "rgb8",
        **kwargs,
    ) -> None:
        super().__init__("runrobot_synthetic_inputs", **kwargs)
        self.image_size = image_size
        self.joint_names = joint_names
        self.compressed = compressed
        self.encoding = encoding
        msg_type = CompressedImage if compressed else Image
        self._camera_pubs = {
            cam: self.create_publisher(msg_type, f"{topic}/compressed" if compressed else topic, FEED_QOS)
            for cam, topic in camera_topics.items()
        }
        self._joint_pub = self.create_publisher(JointState, joint_topic, FEED_QOS)
        self.published = 0
        self._t0 = time.monotonic()
        self._loop = DeadlineLoop(fps, self._publish, name="synthetic-inputs")

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _publish(self, k: int, deadline: float) -> None:
        h, w = self.image_size
        frame = synthetic_frame(h, w, k)
        for cam, pub in self._camera_pubs.items():
            if self.compressed:
                pub.publish(rgb_to_compressed_msg(frame, frame_id=cam))
            else:
                pub.publish(rgb_to_image_msg(frame, frame_id=cam, encoding=self.encoding))
        self._joint_pub.publish(
            joint_state_msg(self.joint_names, synthetic_joints(self.joint_names, time.monotonic() - self._t0))
        )
        self.published += 1
