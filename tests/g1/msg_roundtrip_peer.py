"""Echo peer for tests/g1/test_unitree_hg_messages.py: a separate process that republishes every
unitree_hg message it receives, unchanged, on ``<topic>_echo``.

Topics (ROS names; ``rt/<name>`` on the wire): ``/lowcmd``, ``/lowstate``, ``/g1_roundtrip/motor_cmd``,
``/g1_roundtrip/motor_state``, ``/g1_roundtrip/imu_state``. ROS_DOMAIN_ID comes from the environment.
Prints ``READY`` once its entities exist; exits 0 on SIGINT/SIGTERM.

Usage: python tests/g1/msg_roundtrip_peer.py
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

ECHO_TOPICS = {
    "LowCmd": "/lowcmd",
    "LowState": "/lowstate",
    "MotorCmd": "/g1_roundtrip/motor_cmd",
    "MotorState": "/g1_roundtrip/motor_state",
    "IMUState": "/g1_roundtrip/imu_state",
}
NODE_NAME = "g1_roundtrip_peer"


def main() -> int:
    import rclpy
    import unitree_hg.msg
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    stop = threading.Event()
    rclpy.init(signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    node = rclpy.create_node(NODE_NAME)
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
    keep: list[Any] = []
    for type_name, topic in ECHO_TOPICS.items():
        msg_type = getattr(unitree_hg.msg, type_name)
        pub = node.create_publisher(msg_type, topic + "_echo", qos)
        keep.append(node.create_subscription(msg_type, topic, pub.publish, qos))
        keep.append(pub)

    print("READY", flush=True)
    try:
        while not stop.is_set():
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
