"""ROS 2 face of the simulated arm: camera images and normalized joint states out,
normalized joint commands in (applied as position targets)."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String

from runtime.deadline_loop import DeadlineLoop
from runtime.robots.normalization import JointNormalizer, NonFiniteJointError
from runtime.ros.messages import joint_state_msg, rgb_to_image_msg

log = logging.getLogger(__name__)

SENSOR_QOS = QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT)


class ArmSimNode(Node):
    """Publishes ``camera_topics`` and ``joint_state_topic`` at ``fps``; follows ``command_topic``."""

    def __init__(
        self,
        sim,  # runtime.sim ArmSim
        normalizer: JointNormalizer,
        camera_topics: dict[str, str],
        joint_state_topic: str,
        command_topic: str,
        telemetry_topic: str | None = None,
        fps: float = 30.0,
        **kwargs,
    ) -> None:
        super().__init__("runrobot_arm_sim", **kwargs)
        self.sim = sim
        self.normalizer = normalizer
        self.fps = fps
        self._image_pubs = {
            cam: self.create_publisher(Image, topic, SENSOR_QOS) for cam, topic in camera_topics.items()
        }
        self._joint_pub = self.create_publisher(JointState, joint_state_topic, SENSOR_QOS)
        self._telemetry_pub = self.create_publisher(String, telemetry_topic, 5) if telemetry_topic else None
        self.create_subscription(JointState, command_topic, self._on_command, SENSOR_QOS)
        self.commands_applied = 0
        self.commands_rejected = 0
        self.frames_published = 0
        self.last_command_at: float | None = None
        self._loop = DeadlineLoop(fps, self._publish, name="arm-sim-publish", realtime=False)

    def start(self) -> None:
        self.sim.start()
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        self.sim.stop()

    def _on_command(self, msg: JointState) -> None:
        index = {name: i for i, name in enumerate(msg.name)}
        try:
            values = np.array([msg.position[index[name]] for name in self.normalizer.joint_names], dtype=np.float64)
            targets = self.normalizer.denormalize(values)
        except (KeyError, IndexError, NonFiniteJointError, ValueError) as exc:
            self.commands_rejected += 1
            log.warning("arm sim: rejected joint command: %s", exc)
            return
        self.sim.set_targets(targets)
        self.commands_applied += 1
        self.last_command_at = time.monotonic()

    def _publish(self, k: int, deadline: float) -> None:
        for cam, pub in self._image_pubs.items():
            pub.publish(rgb_to_image_msg(self.sim.render(cam), frame_id=cam))
        self.frames_published += 1
        positions = self.normalizer.normalize(self.sim.joint_positions())
        self._joint_pub.publish(joint_state_msg(self.normalizer.joint_names, positions))
        if self._telemetry_pub is not None and k % max(1, int(self.fps)) == 0:
            self._telemetry_pub.publish(String(data=json.dumps(self.telemetry())))

    def telemetry(self) -> dict:
        return {
            **self.sim.stats(),
            "publish_fps": self.fps,
            "frames_published": self.frames_published,
            "commands_applied": self.commands_applied,
            "commands_rejected": self.commands_rejected,
            "publish_skipped_ticks": self._loop.skipped_ticks,
        }
