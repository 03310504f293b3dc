"""The sidecar's link to the G1 nodes: their status JSON in, requests / velocity / sim release out.

Attached to the sidecar's ROS node (:class:`runtime.ros.sidecar_node.SidecarNode`) at startup by
:mod:`api.routers.g1`. Requests carry an id; :meth:`G1Bridge.request` waits for the lowcmd node's
status to echo it (``last_request``), so the HTTP caller learns whether the transition happened.
A node counts as alive while its status is younger than ``max_age`` seconds (it publishes at ~10 Hz).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from typing import Any

from geometry_msgs.msg import Twist
from rclpy.node import Node
from std_msgs.msg import Empty, String

from runtime.ros.g1_messages import (
    CMD_VEL_TOPIC,
    CONTROL_QOS,
    REQUEST_TOPIC,
    SIM_RELEASE_TOPIC,
    SIM_STATUS_TOPIC,
    STATUS_TOPIC,
    encode_request,
    velocity_to_twist,
)

STATUS_MAX_AGE_S = 1.0


class G1Bridge:
    """Status subscriptions and operator publishers on an existing node (thread-safe)."""

    def __init__(self, node: Node, max_age: float = STATUS_MAX_AGE_S) -> None:
        self.node = node
        self.max_age = max_age
        self._cond = threading.Condition()
        self._status: dict[str, Any] | None = None
        self._status_at = 0.0
        self._sim: dict[str, Any] | None = None
        self._sim_at = 0.0
        self._entities = [
            node.create_subscription(String, STATUS_TOPIC, self._on_status, CONTROL_QOS),
            node.create_subscription(String, SIM_STATUS_TOPIC, self._on_sim_status, CONTROL_QOS),
        ]
        self._request_pub = node.create_publisher(String, REQUEST_TOPIC, CONTROL_QOS)
        self._cmd_vel_pub = node.create_publisher(Twist, CMD_VEL_TOPIC, CONTROL_QOS)
        self._release_pub = node.create_publisher(Empty, SIM_RELEASE_TOPIC, CONTROL_QOS)
        self._entities += [self._request_pub, self._cmd_vel_pub, self._release_pub]

    # -- inputs ------------------------------------------------------------------------------------

    def _on_status(self, msg: String) -> None:
        data = json.loads(msg.data)
        with self._cond:
            self._status, self._status_at = data, time.monotonic()
            self._cond.notify_all()

    def _on_sim_status(self, msg: String) -> None:
        data = json.loads(msg.data)
        with self._cond:
            self._sim, self._sim_at = data, time.monotonic()
            self._cond.notify_all()

    def status(self) -> tuple[dict[str, Any], float] | None:
        """The lowcmd node's latest status and its age (s), or None when no node is alive."""
        with self._cond:
            age = time.monotonic() - self._status_at
            return (self._status, age) if self._status is not None and age <= self.max_age else None

    def sim_status(self) -> tuple[dict[str, Any], float] | None:
        """The sim's latest status and its age (s), or None when no sim is alive."""
        with self._cond:
            age = time.monotonic() - self._sim_at
            return (self._sim, age) if self._sim is not None and age <= self.max_age else None

    def status_age(self) -> float | None:
        """Seconds since the last lowcmd status (None: never received)."""
        with self._cond:
            return None if self._status is None else time.monotonic() - self._status_at

    # -- outputs -----------------------------------------------------------------------------------

    def _wait_matched(self, publisher: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while publisher.get_subscription_count() < 1:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def request(self, trigger: str, timeout: float = 1.0) -> dict[str, Any] | None:
        """Publish ``trigger`` with a fresh id; the node's ``last_request`` echo, or None on timeout."""
        rid = uuid.uuid4().hex[:12]
        deadline = time.monotonic() + timeout
        if not self._wait_matched(self._request_pub, timeout):
            return None
        self._request_pub.publish(String(data=encode_request(trigger, rid)))
        with self._cond:
            while True:
                last = (self._status or {}).get("last_request") or {}
                if last.get("id") == rid:
                    return last
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def set_velocity(self, vx: float, vy: float, wz: float, timeout: float = 0.5) -> bool:
        """Publish ``(vx, vy, wz)`` on ``/cmd_vel``; False when nobody subscribes."""
        if not self._wait_matched(self._cmd_vel_pub, timeout):
            return False
        self._cmd_vel_pub.publish(velocity_to_twist(Twist(), (vx, vy, wz)))
        return True

    def release_sim(self, timeout: float = 1.0) -> dict[str, Any] | None:
        """Publish ``/g1/sim/release``; the sim's status once it reports ``frozen: false`` (None on timeout)."""
        deadline = time.monotonic() + timeout
        if not self._wait_matched(self._release_pub, timeout):
            return None
        self._release_pub.publish(Empty())
        with self._cond:
            while True:
                if self._sim is not None and self._sim.get("frozen") is False:
                    return self._sim
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def close(self) -> None:
        for entity in self._entities:
            destroy = self.node.destroy_publisher if hasattr(entity, "publish") else self.node.destroy_subscription
            with contextlib.suppress(Exception):  # the node may already be gone at shutdown
                destroy(entity)
        self._entities.clear()
