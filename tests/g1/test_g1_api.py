"""The sidecar's ``/g1`` router (api/routers/g1.py) through the real app and real ROS 2.

* no ROS / no node: 503 with a clear ``detail``;
* a real :class:`~runtime.ros.g1_lowcmd_node.G1LowCmdNode` in this process (own context, no real-time
  threads, a 5 s stale limit so a busy test machine cannot damp it) fed LowStates by a publisher:
  state, transitions, 409 refusals, velocity clipping, the last safety event;
* 422 on bad bodies (malformed JSON, NaN/inf, strings, booleans, unknown fields), 504 when a node's
  status is alive but nobody takes requests, and the sim routes against a small stand-in.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.e2e.ros_helpers import PeriodicPublisher, RosTestNode, wait_until

BAD_BODIES = [
    ('{"vx": NaN}', "finite_number"),
    ('{"vx": Infinity}', "finite_number"),
    ('{"wz": -Infinity}', "finite_number"),
    ('{"vx": "0.5"}', "float_type"),
    ('{"vy": true}', "float_type"),
    ('{"vx": 0.1, "vz": 1}', "extra_forbidden"),
    ('{"vx": ', "json_invalid"),
    ("[0.1, 0, 0]", "model_attributes_type"),
]


@pytest.fixture
def client(ros_domain: int, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path / "data")) as c:
        yield c


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from runtime.g1.velocity_policy_init import init_velocity_policy

    return init_velocity_policy(tmp_path_factory.mktemp("g1_api") / "policy")


def post_raw(client: TestClient, path: str, body: str) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json"})


class InProcessLowCmd:
    """A real G1 lowcmd node on its own rclpy context, plus a LowState feed at 100 Hz."""

    def __init__(self, domain: int, policy_dir: Path) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from unitree_hg.msg import LowState

        from runtime.g1.lowcmd_controller import G1ControllerConfig, G1LowCmdController
        from runtime.policies.unitree_velocity import load_velocity_policy
        from runtime.ros.g1_lowcmd_node import G1LowCmdNode
        from runtime.ros.g1_messages import LOWLEVEL_QOS, LOWSTATE_TOPIC, LowStatePacker

        self._switch = sys.getswitchinterval()
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
        policy = load_velocity_policy(policy_dir)
        config = G1ControllerConfig(lowstate_timeout_s=5.0, move_to_default_s=0.2)
        controller = G1LowCmdController(policy, config=config)
        # 100 Hz feed, so no settling gate (it expects 500 Hz); realtime threads are not for a test process
        self.node = G1LowCmdNode(controller, rate_hz=100, realtime=False, settle_samples=1, context=self.context)
        self.default_q = policy.default_targets().q
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.feeder = rclpy.create_node("g1_api_lowstate_feed", context=self.context)
        self.executor.add_node(self.feeder)
        self.lowstate_pub = self.feeder.create_publisher(LowState, LOWSTATE_TOPIC, LOWLEVEL_QOS)
        self.packer = LowStatePacker()
        self.tick = 0
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()
        self.node.start()
        self.feed = PeriodicPublisher(self._publish_state, hz=100).start()

    def _publish_state(self, q_nan: bool = False) -> None:
        q = self.default_q.copy()
        if q_nan:
            q[2] = np.nan
        self.tick += 10
        self.lowstate_pub.publish(
            self.packer.pack(q, np.zeros(29), [1, 0, 0, 0], np.zeros(3), [0, 0, 9.81], tick=self.tick, mode_machine=5)
        )

    def publish_nan_state(self) -> None:
        self._publish_state(q_nan=True)

    def close(self) -> None:
        import rclpy

        if not self.context.ok():
            return
        self.feed.stop()
        self.node.stop()
        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        self.feeder.destroy_node()
        rclpy.shutdown(context=self.context)
        self._thread.join(3.0)
        gc.unfreeze()  # the node froze this test process's heap at startup
        sys.setswitchinterval(self._switch)


@pytest.fixture
def lowcmd_node(ros_domain: int, policy_dir: Path) -> Iterator[InProcessLowCmd]:
    node = InProcessLowCmd(ros_domain, policy_dir)
    try:
        yield node
    finally:
        node.close()


def g1_state(client: TestClient) -> str | None:
    response = client.get("/g1")
    return response.json()["state"] if response.status_code == 200 else None


# ------------------------------------------------------------------------------------------- tests


def test_without_ros_every_route_is_503_and_bodies_are_still_validated(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "data", enable_ros=False)) as client:
        for method, path, body in [
            ("GET", "/g1", None),
            ("POST", "/g1/damp", None),
            ("POST", "/g1/cmd_vel", {"vx": 0.1}),
            ("GET", "/g1/sim", None),
            ("POST", "/g1/sim/release", None),
        ]:
            response = client.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert "ROS 2 is disabled" in response.json()["detail"]
        for body, kind in BAD_BODIES:
            response = post_raw(client, "/g1/cmd_vel", body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["detail"][0]["type"] == kind
        response = client.post("/g1/jump")
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "trigger"]
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/g1", "/g1/{trigger}", "/g1/cmd_vel", "/g1/sim", "/g1/sim/release"} <= set(paths)


def test_no_lowcmd_node_is_503_with_a_clear_detail(client: TestClient) -> None:
    response = client.get("/g1")
    assert response.status_code == 503
    assert "no G1 lowcmd node is running" in response.json()["detail"]
    assert "runrobot g1 lowcmd --policy DIR" in response.json()["detail"]
    assert client.post("/g1/start").status_code == 503
    assert client.post("/g1/cmd_vel", json={"vx": 0.2}).status_code == 503
    assert "no simulated G1" in client.get("/g1/sim").json()["detail"]
    assert client.post("/g1/sim/release").status_code == 503


def test_state_transitions_velocity_and_safety_with_a_node(client: TestClient, lowcmd_node: InProcessLowCmd) -> None:
    body = wait_until(
        lambda: (r := client.get("/g1")).status_code == 200 and r.json()["state"] == "ZERO_TORQUE" and r.json(),
        20,
        "GET /g1 -> ZERO_TORQUE",
    )
    assert body["last_safety_event"] is None and body["sim"] is None
    assert body["transitions"][0]["to_state"] == "ZERO_TORQUE" and body["mode_machine"] == 5
    assert body["max_cmd"] == [0.8, 0.5, 1.57] and body["loop"]["publish"]["rate_hz"] == 100

    refused = client.post("/g1/run")
    assert refused.status_code == 409 and "'run' only from HOLD_DEFAULT" in refused.json()["detail"]
    started = client.post("/g1/start")
    assert started.status_code == 200, started.text
    assert started.json() == {
        "ok": True,
        "changed": True,
        "trigger": "start",
        "state": "MOVE_TO_DEFAULT",
        "reason": "",
    }
    wait_until(lambda: g1_state(client) == "HOLD_DEFAULT", 5, "HOLD_DEFAULT")
    assert client.post("/g1/run").json()["state"] == "RUN"

    reply = client.post("/g1/cmd_vel", json={"vx": 2.0, "vy": -0.1, "wz": 9})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "requested": [2.0, -0.1, 9.0],
        "command": [0.8, -0.1, 1.57],
        "max_cmd": [0.8, 0.5, 1.57],
        "clipped": True,
    }
    wait_until(
        lambda: client.get("/g1").json()["velocity_command"] == pytest.approx([0.8, -0.1, 1.57]), 5, "the command"
    )
    assert client.get("/g1").json()["velocity_source"] == "cmd_vel"
    for body_text, kind in BAD_BODIES:
        response = post_raw(client, "/g1/cmd_vel", body_text)
        assert response.status_code == 422 and response.json()["detail"][0]["type"] == kind, body_text

    damped = client.post("/g1/damp")
    assert damped.status_code == 200 and damped.json()["state"] == "DAMPING"
    again = client.post("/g1/damp")
    assert again.status_code == 200 and again.json()["changed"] is False
    refused = client.post("/g1/start")
    assert refused.status_code == 409 and "use 'default'" in refused.json()["detail"]
    assert client.post("/g1/default").json()["state"] == "MOVE_TO_DEFAULT"
    wait_until(lambda: g1_state(client) == "HOLD_DEFAULT", 5, "HOLD_DEFAULT again")

    lowcmd_node.publish_nan_state()
    event = wait_until(lambda: client.get("/g1").json()["last_safety_event"], 5, "a safety event")
    assert event["kind"] == "non_finite" and "/lowstate" in event["detail"]
    body = client.get("/g1").json()
    assert body["state"] == "DAMPING" and body["counters"]["nan_events"] == 1
    triggers = [(t["from_state"], t["to_state"]) for t in body["transitions"]]
    assert triggers[-1] == ("HOLD_DEFAULT", "DAMPING")

    lowcmd_node.close()
    wait_until(lambda: client.get("/g1").status_code == 503, 5, "503 once the node is gone")


class StandIns:
    """A lowcmd status publisher that takes no requests, and a sim that answers release."""

    def __init__(self, domain: int) -> None:
        from std_msgs.msg import Empty, String

        from runtime.ros.g1_messages import CONTROL_QOS, SIM_RELEASE_TOPIC, SIM_STATUS_TOPIC, STATUS_TOPIC

        self.ros = RosTestNode(domain, "g1_api_stand_ins")
        node = self.ros.node
        status_pub = node.create_publisher(String, STATUS_TOPIC, CONTROL_QOS)
        sim_pub = node.create_publisher(String, SIM_STATUS_TOPIC, CONTROL_QOS)
        self.frozen = True

        def release(_msg: Any) -> None:
            self.frozen = False
            publish()

        def publish() -> None:
            status_pub.publish(String(data=json.dumps({"state": "ZERO_TORQUE", "max_cmd": [0.8, 0.5, 1.57]})))
            sim_pub.publish(String(data=json.dumps({"frozen": self.frozen, "releases": int(not self.frozen)})))

        node.create_subscription(Empty, SIM_RELEASE_TOPIC, release, CONTROL_QOS)
        self.feed = PeriodicPublisher(publish, hz=10).start()

    def close(self) -> None:
        self.feed.stop()
        self.ros.shutdown()


def test_unacknowledged_request_is_504_and_sim_release(client: TestClient, ros_domain: int) -> None:
    stand_ins = StandIns(ros_domain)
    try:
        wait_until(lambda: client.get("/g1").status_code == 200, 15, "the stand-in status")
        assert client.get("/g1").json()["state"] == "ZERO_TORQUE"
        t0 = time.monotonic()
        response = client.post("/g1/damp")
        assert response.status_code == 504 and "did not acknowledge 'damp'" in response.json()["detail"]
        assert time.monotonic() - t0 < 3.0

        wait_until(lambda: client.get("/g1/sim").status_code == 200, 15, "the stand-in sim status")
        assert client.get("/g1/sim").json()["frozen"] is True
        released = client.post("/g1/sim/release")
        assert released.status_code == 200, released.text
        assert released.json() == {"frozen": False, "releases": 1}
        assert client.get("/g1").json()["sim"]["frozen"] is False
    finally:
        stand_ins.close()
