"""End to end over real ROS 2: ``runrobot serve`` and ``runrobot feed`` as separate processes,
the test process as a third ROS 2 participant (own rclpy Context and executor thread).

Every test has its own ROS_DOMAIN_ID (``ros_domain``) with discovery limited to this host,
its own server process and data dir; children are always stopped in the fixtures' finalizers.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from runtime.images import encode_jpeg
from runtime.robots.profile import load_robot_profile
from tests.e2e.ros_helpers import (
    PeriodicPublisher,
    RosTestNode,
    RunrobotProcess,
    ServeProcess,
    compressed_msg,
    http,
    image_msg,
    joint_msg,
    ros_env,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

JOINTS = load_robot_profile("so101").joint_names
GRIPPER = JOINTS.index("gripper")
SESSION_FPS = 30.0


# =========================================================================== fixtures


@pytest.fixture(scope="module")
def two_camera_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from runtime.policies.act.checkpoint import init_act_checkpoint

    return init_act_checkpoint(
        tmp_path_factory.mktemp("act_two") / "act_front_wrist",
        cameras=["front", "wrist"],
        image_size=(96, 96),
        chunk_size=20,
    )


@pytest.fixture
def serve(ros_domain: int, tmp_path: Path) -> Iterator[ServeProcess]:
    """``runrobot serve`` on a free port, healthy; stopped (SIGINT, then harder) at teardown."""
    server = ServeProcess(ros_env(ros_domain), tmp_path / "data", tmp_path / "serve.log")
    try:
        server.wait_healthy(timeout=40.0)
        yield server
    finally:
        server.stop(signal.SIGINT, timeout=10.0)


@pytest.fixture
def spawn(ros_domain: int, tmp_path: Path) -> Iterator[Callable[..., RunrobotProcess]]:
    """Start more runrobot children on the test's domain; all stopped at teardown."""
    procs: list[RunrobotProcess] = []

    def _spawn(name: str, *args: str) -> RunrobotProcess:
        proc = RunrobotProcess(name, list(args), ros_env(ros_domain), tmp_path / f"{name}.log")
        procs.append(proc)
        return proc

    try:
        yield _spawn
    finally:
        for proc in reversed(procs):
            proc.stop(signal.SIGINT, timeout=5.0)


@pytest.fixture
def ros_node(ros_domain: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[RosTestNode]:
    """The test process's own ROS 2 participant, with the same Fast DDS profile as runrobot."""
    from runtime.ros.environment import FASTDDS_PROFILE

    if "FASTDDS_DEFAULT_PROFILES_FILE" not in os.environ and FASTDDS_PROFILE.is_file():
        monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", str(FASTDDS_PROFILE))
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    node = RosTestNode(ros_domain)
    try:
        yield node
    finally:
        node.shutdown()
    assert node.spin_error is None, f"test executor failed: {node.spin_error!r}"


# =========================================================================== helpers


def create_session(serve: ServeProcess, session_id: str, policy: Path, cameras: list[str]) -> dict:
    created = serve.call(
        "POST", "/sessions", {"session_id": session_id, "policy_path": str(policy), "camera_names": cameras}
    )
    assert set(created["camera_room_ids"]) == set(cameras)
    status = serve.session(session_id)
    assert status["status"] == "created"
    assert status["workspace_id"] == created["workspace_id"]
    return status


def inference_stat(serve: ServeProcess, session_id: str, key: str):
    return serve.session(session_id)["inference_stats"][key]


def rejected(serve: ServeProcess, session_id: str, reason: str) -> int:
    return inference_stat(serve, session_id, "rejected_by_reason").get(reason, 0)


def assert_valid_commands(messages) -> None:
    assert messages, "no commands"
    for m in messages:
        assert list(m.names) == JOINTS
        assert m.positions.shape == (len(JOINTS),)
        assert np.all(np.isfinite(m.positions))
        assert np.all(m.positions >= -100.0) and np.all(m.positions <= 100.0), m.positions
        assert 0.0 <= m.positions[GRIPPER] <= 100.0, m.positions


def assert_quiet(recorder, grace: float = 0.3, window: float = 1.0) -> int:
    """No commands arrive after ``grace`` (messages already in flight) for ``window`` seconds."""
    time.sleep(grace)
    n = len(recorder)
    time.sleep(window)
    assert len(recorder) == n, f"{len(recorder) - n} commands arrived after the output should have stopped"
    return n


def stop_serve_cleanly(serve: ServeProcess) -> None:
    rc = serve.stop(signal.SIGINT, timeout=15.0)
    log = serve.log(20000)
    assert rc == 0, f"serve exited with {rc} on SIGINT:\n{log[-4000:]}"
    assert "runrobot sidecar stopped" in log
    assert "Traceback" not in log, log[-4000:]


# =========================================================================== tests


def test_act_session_commands_flow_over_ros(serve, spawn, ros_node, act_checkpoint) -> None:
    """serve + feed processes; the test process subscribes to the joint-output room."""
    sid = "e2e-act"
    status = create_session(serve, sid, act_checkpoint, ["front"])
    rooms = status["rooms"]
    out_topic = rooms["joint_output"]["topic"]
    assert out_topic == f"/runrobot/{status['workspace_id']}/e2e_act_joint_output"
    assert status["stats"]["chunk_size"] == 100
    commands = ros_node.record_joint_states(out_topic)

    assert "started" in serve.call("POST", f"/sessions/{sid}/start")["message"]
    feed = spawn("feed", "feed", "--server", serve.url, "--session", sid, "--fps", "30", "--image-size", "224x224")

    def first_command() -> bool:
        feed.check_alive()
        serve.check_alive()
        return len(commands) > 0

    wait_until(first_command, 35.0, "the first joint command on " + out_topic, interval=0.05)
    t_first = commands.messages[0].received_at
    wait_until(lambda: time.monotonic() >= t_first + 3.0, 5.0, "3 s of commands")
    n_3s = commands.count_between(t_first, t_first + 3.0)
    rate = n_3s / 3.0
    assert 20.0 <= rate <= 40.0, f"{rate:.1f} Hz measured over 3 s, session fps {SESSION_FPS}"
    assert_valid_commands(commands.messages)
    assert ros_node.node.count_publishers(out_topic) == 1

    status = serve.session(sid)
    assert status["status"] == "running"
    assert status["stats"]["status_reason"] == "running"
    assert status["stats"]["frames_received"]["front"] >= 60
    assert status["stats"]["joint_states_received"] >= 60
    assert status["stats"]["commands_published"] >= n_3s
    assert status["inference_stats"]["chunks"] >= 1
    assert status["inference_stats"]["inference_errors"] == 0
    assert status["inference_stats"]["rejected_inputs"] == 0

    # stop -> the output goes quiet
    assert "stopped" in serve.call("POST", f"/sessions/{sid}/stop")["message"]
    assert serve.session(sid)["status"] == "stopped"
    n_stopped = assert_quiet(commands)

    # restart -> commands flow again
    assert "restarted" in serve.call("POST", f"/sessions/{sid}/restart")["message"]
    assert serve.session(sid)["status"] == "running"
    wait_until(lambda: len(commands) >= n_stopped + 15, 20.0, "commands after restart")
    assert_valid_commands(commands.messages[n_stopped:])

    # delete -> 404, and the output stays quiet
    assert "deleted" in serve.call("DELETE", f"/sessions/{sid}")["message"]
    code, body = http("GET", f"{serve.url}/sessions/{sid}")
    assert code == 404, body
    assert sid in body["detail"]
    assert_quiet(commands, window=0.7)
    code, _ = http("POST", f"{serve.url}/sessions/{sid}/start")
    assert code == 404

    assert feed.stop(signal.SIGINT, timeout=10.0) == 0, feed.log()
    assert "published" in feed.log()
    stop_serve_cleanly(serve)


def test_bad_inputs_are_rejected_and_counted(serve, ros_node, act_checkpoint, two_camera_checkpoint) -> None:
    """Malformed messages are counted by reason; the session keeps running; a missing camera pauses output."""
    from sensor_msgs.msg import CompressedImage, Image, JointState

    bad = create_session(serve, "e2e-bad", act_checkpoint, ["front"])
    two = create_session(serve, "e2e-two", two_camera_checkpoint, ["front", "wrist"])
    serve.call("POST", "/sessions/e2e-bad/start")
    serve.call("POST", "/sessions/e2e-two/start")

    cam_topic = bad["rooms"]["cameras"]["front"]["topic"]
    img_pub = ros_node.publisher(Image, cam_topic)
    cmp_pub = ros_node.publisher(CompressedImage, f"{cam_topic}/compressed")
    joint_pub = ros_node.publisher(JointState, bad["rooms"]["joint_input"]["topic"])
    two_img_pub = ros_node.publisher(Image, two["rooms"]["cameras"]["front"]["topic"])
    two_joint_pub = ros_node.publisher(JointState, two["rooms"]["joint_input"]["topic"])
    bad_out = ros_node.record_joint_states(bad["rooms"]["joint_output"]["topic"])
    two_out = ros_node.record_joint_states(two["rooms"]["joint_output"]["topic"])
    for entity in (img_pub, cmp_pub, joint_pub, two_img_pub, two_joint_pub):
        ros_node.wait_for_match(entity)

    good_224 = np.random.default_rng(1).integers(0, 256, size=(224, 224, 3), dtype=np.uint8)
    good_96 = np.random.default_rng(2).integers(0, 256, size=(96, 96, 3), dtype=np.uint8)
    good_joints = [0.0, 10.0, -10.0, 20.0, -20.0, 50.0]

    def publish_good() -> None:
        img_pub.publish(image_msg(good_224))
        joint_pub.publish(joint_msg(JOINTS, good_joints))
        two_img_pub.publish(image_msg(good_96))  # only the front camera: wrist never arrives
        two_joint_pub.publish(joint_msg(JOINTS, good_joints))

    feeder = PeriodicPublisher(publish_good, hz=30.0).start()
    try:
        wait_until(lambda: len(bad_out) >= 5, 35.0, "commands from the well-fed session")

        def send_until_counted(publish: Callable[[], None], reason: str, text: str) -> None:
            """Publish until the server has counted one more ``reason`` rejection mentioning ``text``."""
            before = rejected(serve, "e2e-bad", reason)

            def counted() -> bool:
                publish()
                stats = serve.session("e2e-bad")["inference_stats"]
                return stats["rejected_by_reason"].get(reason, 0) > before and text in (stats["last_rejection"] or "")

            wait_until(counted, 10.0, f"a {reason!r} rejection mentioning {text!r}", interval=0.1)

        small = np.zeros((200, 160, 3), dtype=np.uint8)
        send_until_counted(lambda: img_pub.publish(image_msg(small)), "image_size", "160x200")
        mono16 = np.zeros((224, 224), dtype=np.uint16)
        send_until_counted(lambda: img_pub.publish(image_msg(mono16, encoding="16UC1")), "image_encoding", "16UC1")
        rgba = np.zeros((224, 224, 4), dtype=np.uint8)
        send_until_counted(lambda: img_pub.publish(image_msg(rgba, encoding="rgba8")), "image_encoding", "rgba8")
        garbage = bytes(range(256)) * 8
        send_until_counted(lambda: cmp_pub.publish(compressed_msg(garbage)), "image_encoding", "could not decode")
        nan_joints = list(good_joints)
        nan_joints[1] = math.nan
        send_until_counted(lambda: joint_pub.publish(joint_msg(JOINTS, nan_joints)), "non_finite_joint", "NaN")
        renamed = ["joint_1", "joint_2", "joint_3", "joint_4", "joint_5", "joint_6"]
        send_until_counted(lambda: joint_pub.publish(joint_msg(renamed, good_joints)), "unknown_joint", "joint_1")

        # Rejections never replaced the good inputs: the session kept running and publishing.
        n_after_bad = len(bad_out)
        wait_until(lambda: len(bad_out) >= n_after_bad + 10, 10.0, "commands after the bad inputs")
        assert_valid_commands(bad_out.messages)
        status = serve.session("e2e-bad")
        assert status["status"] == "running"
        assert status["stats"]["status_reason"] == "running"
        by_reason = status["inference_stats"]["rejected_by_reason"]
        assert by_reason.get("image_size", 0) >= 1
        assert by_reason.get("image_encoding", 0) >= 3
        assert by_reason.get("non_finite_joint", 0) >= 1
        assert by_reason.get("unknown_joint", 0) >= 1
        assert status["inference_stats"]["rejected_inputs"] == sum(by_reason.values())
        assert status["inference_stats"]["inference_errors"] == 0
        assert status["stats"]["frames_received"]["front"] >= 10

        # Two-camera policy fed one camera: running, paused, and the reason names the missing camera.
        def two_fed() -> dict | None:
            status = serve.session("e2e-two")
            stats = status["stats"]
            return status if stats["frames_received"].get("front", 0) >= 10 and stats["joint_states_received"] else None

        two_status = wait_until(two_fed, 20.0, "the two-camera session to receive front frames and joints")
        assert two_status["status"] == "running"
        assert two_status["inference_stats"]["stale_input_pauses"] >= 1
        reason = two_status["stats"]["status_reason"]
        assert "camera wrist" in reason and "no frame yet" in reason, reason
        assert "camera front" not in reason, reason
        assert two_status["stats"]["frames_received"].get("front", 0) >= 10
        assert two_status["stats"]["commands_published"] == 0
        assert two_status["inference_stats"]["chunks"] == 0
        assert len(two_out) == 0
    finally:
        feeder.stop()
    assert feeder.error is None, repr(feeder.error)
    serve.check_alive()
    stop_serve_cleanly(serve)


def test_compressed_jpeg_frames_are_accepted(serve, ros_node, small_act_checkpoint) -> None:
    from sensor_msgs.msg import CompressedImage, JointState

    status = create_session(serve, "e2e-jpeg", small_act_checkpoint, ["front"])
    serve.call("POST", "/sessions/e2e-jpeg/start")
    cam_topic = status["rooms"]["cameras"]["front"]["topic"]
    cmp_pub = ros_node.publisher(CompressedImage, f"{cam_topic}/compressed")
    joint_pub = ros_node.publisher(JointState, status["rooms"]["joint_input"]["topic"])
    out = ros_node.record_joint_states(status["rooms"]["joint_output"]["topic"])
    for entity in (cmp_pub, joint_pub):
        ros_node.wait_for_match(entity)

    jpeg = encode_jpeg(np.random.default_rng(3).integers(0, 256, size=(96, 96, 3), dtype=np.uint8))

    def publish() -> None:
        cmp_pub.publish(compressed_msg(jpeg, "jpeg"))
        joint_pub.publish(joint_msg(JOINTS, [0.0, 0.0, 0.0, 0.0, 0.0, 50.0]))

    feeder = PeriodicPublisher(publish, hz=30.0).start()
    try:
        wait_until(
            lambda: serve.session("e2e-jpeg")["stats"]["frames_received"].get("front", 0) >= 20,
            15.0,
            "20 JPEG frames counted",
        )
        wait_until(lambda: len(out) >= 10, 20.0, "commands driven by JPEG frames")
        first = serve.session("e2e-jpeg")["stats"]["frames_received"]["front"]
        wait_until(
            lambda: serve.session("e2e-jpeg")["stats"]["frames_received"]["front"] >= first + 10,
            10.0,
            "frames_received to keep growing",
        )
    finally:
        feeder.stop()
    assert feeder.error is None, repr(feeder.error)
    status = serve.session("e2e-jpeg")
    assert status["status"] == "running"
    assert status["inference_stats"]["rejected_inputs"] == 0
    assert status["stats"]["frame_latency_p50_ms"] is not None
    assert_valid_commands(out.messages)
    stop_serve_cleanly(serve)


def test_empty_compressed_image_does_not_stop_the_sidecar(serve, ros_node, small_act_checkpoint) -> None:
    from sensor_msgs.msg import CompressedImage, Image

    status = create_session(serve, "e2e-empty", small_act_checkpoint, ["front"])
    cam_topic = status["rooms"]["cameras"]["front"]["topic"]
    img_pub = ros_node.publisher(Image, cam_topic)
    cmp_pub = ros_node.publisher(CompressedImage, f"{cam_topic}/compressed")
    for entity in (img_pub, cmp_pub):
        ros_node.wait_for_match(entity)
    frame = np.zeros((96, 96, 3), dtype=np.uint8)

    def frames() -> int:
        return serve.session("e2e-empty")["stats"]["frames_received"].get("front", 0)

    wait_until(lambda: img_pub.publish(image_msg(frame)) or frames() >= 3, 10.0, "3 raw frames", interval=0.05)
    before = frames()
    cmp_pub.publish(compressed_msg(b"", "jpeg"))
    time.sleep(0.2)
    wait_until(lambda: img_pub.publish(image_msg(frame)) or frames() >= before + 3, 5.0, "frames after it")
    assert rejected(serve, "e2e-empty", "image_encoding") == 1
    serve.check_alive()
