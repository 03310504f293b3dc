"""Conversions of :mod:`runtime.ros.g1_messages`: raw CDR codecs against rclpy's own serialization,
LowState/LowCmd packing with CRC, the controller sample, remote packing, geometry, requests and JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped, Twist
from rclpy.serialization import deserialize_message, serialize_message
from unitree_hg.msg import LowCmd, LowState

from runtime.g1.crc import (
    LowCmdPacker,
    pack_lowcmd_msg,
    pack_lowstate_msg,
    set_lowcmd_crc,
    set_lowstate_crc,
    verify_lowcmd_crc,
    verify_lowstate_crc,
)
from runtime.g1.lowcmd_controller import LowStateSample
from runtime.g1.motors import MotorCommand
from runtime.g1.remote import Button, RemoteDecoder, parse_wireless_remote
from runtime.ros import g1_messages as gm
from tests.g1.test_unitree_hg_messages import fill_random

RNG_SEEDS = range(20)


def random_lowstate(seed: int) -> LowState:
    msg = fill_random(LowState(), np.random.default_rng(seed))
    set_lowstate_crc(msg)
    return msg


def random_lowcmd(seed: int) -> LowCmd:
    msg = fill_random(LowCmd(), np.random.default_rng(seed))
    set_lowcmd_crc(msg)
    return msg


# ------------------------------------------------------------------------------------------ raw CDR


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_lowstate_cdr_codec_matches_rclpy(seed: int) -> None:
    msg = random_lowstate(seed)
    raw = serialize_message(msg)
    record = gm.lowstate_cdr_to_struct(raw)
    assert record.tobytes() == pack_lowstate_msg(msg)  # the C struct, padding zeroed: what the CRC covers
    assert gm.lowstate_record_crc_ok(record)
    back = deserialize_message(gm.lowstate_struct_to_cdr(record.tobytes()), LowState)
    assert pack_lowstate_msg(back) == pack_lowstate_msg(msg)
    assert len(raw) == gm.LOWSTATE_CDR_SIZE


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_lowcmd_cdr_codec_matches_rclpy(seed: int) -> None:
    msg = random_lowcmd(seed)
    raw = serialize_message(msg)
    record = gm.lowcmd_cdr_to_struct(raw)
    assert record.tobytes() == pack_lowcmd_msg(msg)
    assert gm.lowcmd_record_crc_ok(record)
    back = deserialize_message(gm.lowcmd_struct_to_cdr(record.tobytes()), LowCmd)
    assert pack_lowcmd_msg(back) == pack_lowcmd_msg(msg)
    assert len(raw) == gm.LOWCMD_CDR_SIZE


def test_cdr_padding_garbage_does_not_break_the_crc() -> None:
    """Senders may leave CDR padding uninitialised; the decoder zeroes it, as the C struct the CRC covers."""
    msg = random_lowstate(1)
    raw = bytearray(serialize_message(msg))
    payload = 4
    raw[payload + 10] = raw[payload + 11] = 0xAB  # after mode_pr, mode_machine
    raw[payload + 124 + 1] = 0xCD  # after motor_state[1].mode
    assert gm.lowstate_record_crc_ok(gm.lowstate_cdr_to_struct(bytes(raw)))
    cmd = bytearray(serialize_message(random_lowcmd(1)))
    cmd[payload + 3] = cmd[payload + 28 + 2] = 0xEF  # after motor_cmd[0].mode, motor_cmd[1].mode
    assert gm.lowcmd_record_crc_ok(gm.lowcmd_cdr_to_struct(bytes(cmd)))


def test_a_changed_field_fails_the_crc() -> None:
    record = gm.lowcmd_cdr_to_struct(serialize_message(random_lowcmd(2))).copy()
    record["motor_cmd"]["kp"][5] += 1.0
    assert not gm.lowcmd_record_crc_ok(record)
    state = gm.lowstate_cdr_to_struct(serialize_message(random_lowstate(2))).copy()
    state["tick"] += 1
    assert not gm.lowstate_record_crc_ok(state)


def test_wrong_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="LowCmd"):
        gm.lowcmd_cdr_to_struct(b"\x00\x01\x00\x00" + bytes(10))
    with pytest.raises(ValueError, match="LowState"):
        gm.lowstate_cdr_to_struct(serialize_message(LowCmd()))


def test_lowcmd_packer_bytes_are_a_valid_lowcmd() -> None:
    cmd = MotorCommand.from_targets(np.linspace(-0.5, 0.5, 29), 60.0, 1.5, mode_machine=5)
    packer = LowCmdPacker()
    packer.pack(cmd.mode_pr, cmd.mode_machine, cmd.as_array())
    msg = deserialize_message(gm.lowcmd_struct_to_cdr(packer.words), LowCmd)
    assert verify_lowcmd_crc(msg)
    assert msg.mode_machine == 5 and [c.mode for c in msg.motor_cmd] == [1] * 29 + [0] * 6
    assert msg.motor_cmd[28].q == pytest.approx(0.5) and msg.motor_cmd[3].kp == 60.0
    record = gm.lowcmd_cdr_to_struct(gm.lowcmd_struct_to_cdr(packer.words))
    np.testing.assert_allclose(gm.motors_from_lowcmd_record(record), cmd.as_array(), atol=1e-6)


def test_lowstate_packer_builds_a_valid_lowstate() -> None:
    q = np.linspace(-1, 1, 29)
    quat = np.array([math.cos(0.1), 0.0, math.sin(0.1), 0.0])  # pitch 0.2 rad
    remote = gm.pack_wireless_remote(["select"], ly=0.5)
    data = gm.LowStatePacker().pack(
        q, -q, quat, [0.1, 0.2, 0.3], [0, 0, 9.81], tau_est=q * 2, tick=1234, mode_machine=5, wireless_remote=remote
    )
    msg = deserialize_message(data, LowState)
    assert verify_lowstate_crc(msg)
    assert msg.tick == 1234 and msg.mode_machine == 5
    assert [m.mode for m in msg.motor_state] == [1] * 29 + [0] * 6
    assert msg.motor_state[28].q == pytest.approx(1.0) and msg.motor_state[0].dq == pytest.approx(1.0)
    assert msg.motor_state[2].tau_est == pytest.approx(q[2] * 2, abs=1e-6)
    assert list(msg.imu_state.rpy) == pytest.approx([0.0, 0.2, 0.0], abs=1e-6)
    assert bytes(msg.wireless_remote) == remote


def test_sample_from_record_equals_the_controllers_from_msg() -> None:
    msg = random_lowstate(3)
    ours = gm.sample_from_lowstate_record(gm.lowstate_cdr_to_struct(serialize_message(msg)), 12.5)
    ref = LowStateSample.from_msg(msg, 12.5)
    for name in ("q", "dq", "tau", "quat", "gyro", "acc"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(ref, name), err_msg=name)
    assert (ours.tick, ours.mode_machine, ours.mode_pr, ours.received_at) == (
        ref.tick,
        ref.mode_machine,
        ref.mode_pr,
        12.5,
    )
    assert ours.wireless_remote == ref.wireless_remote
    assert gm.lowstate_sample(msg, 12.5).tick == ref.tick


def test_nan_survives_decoding_for_the_safety_check() -> None:
    record = gm.lowstate_cdr_to_struct(serialize_message(random_lowstate(4))).copy()
    record["motor_state"]["q"][7] = np.nan
    sample = gm.sample_from_lowstate_record(record, 0.0)
    assert "q" in sample.non_finite()


# ------------------------------------------------------------------------------- message objects


def test_fill_lowstate_msg_sets_motors_imu_and_crc() -> None:
    msg = gm.fill_lowstate_msg(
        LowState(), np.full(29, 0.3), np.zeros(29), [1, 0, 0, 0], [0, 0, 0], [0, 0, 9.81], tick=7, mode_machine=5
    )
    assert verify_lowstate_crc(msg) and msg.tick == 7 and msg.motor_state[28].q == pytest.approx(0.3)
    assert msg.motor_state[29].mode == 0 and msg.motor_state[0].mode == 1


def test_fill_lowcmd_msg_and_back() -> None:
    cmd = MotorCommand.damping(mode_machine=3)
    msg = gm.fill_lowcmd_msg(LowCmd(), cmd)
    assert verify_lowcmd_crc(msg) and gm.is_damping_msg(msg)
    back = gm.motor_command_from_msg(msg)
    np.testing.assert_array_equal(back.as_array(), cmd.as_array())
    assert back.mode_machine == 3 and back.is_damping
    assert not gm.is_damping_msg(gm.fill_lowcmd_msg(LowCmd(), MotorCommand.zero_torque()))


def test_twist_pose_and_rpy() -> None:
    twist = gm.velocity_to_twist(Twist(), (0.4, -0.1, 0.7))
    np.testing.assert_allclose(gm.twist_to_velocity(twist), [0.4, -0.1, 0.7])
    pose = gm.fill_pose_stamped(PoseStamped(), [1, 2, 0.8], [0.5, 0.5, 0.5, 0.5], 3_500_000_000, "world")
    assert (pose.header.stamp.sec, pose.header.stamp.nanosec, pose.header.frame_id) == (3, 500_000_000, "world")
    pos, quat = gm.pose_from_msg(pose)
    np.testing.assert_allclose(pos, [1, 2, 0.8])
    np.testing.assert_allclose(quat, [0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(gm.quat_to_rpy([1, 0, 0, 0]), [0, 0, 0])
    yaw = gm.quat_to_rpy([math.cos(0.25), 0, 0, math.sin(0.25)])
    np.testing.assert_allclose(yaw, [0, 0, 0.5], atol=1e-12)


# ------------------------------------------------------------------------------------ remote / JSON


def test_wireless_remote_packing_is_the_inverse_of_the_parser() -> None:
    raw = gm.pack_wireless_remote(["start", "A"], lx=0.25, rx=-0.5, ry=0.125, l2=1.0, ly=0.75)
    assert len(raw) == 40
    state = parse_wireless_remote(raw)
    assert state.held_buttons == {Button.START, Button.A}
    assert state.sticks == (0.25, 0.75, -0.5, 0.125) and state.l2 == 1.0
    decoder = RemoteDecoder()
    decoder.update(gm.pack_wireless_remote())
    assert decoder.update(gm.remote_from_json('{"buttons": ["select"]}')).triggers() == ["damp"]
    assert gm.pack_wireless_remote(Button.SELECT.mask) == gm.remote_from_json('{"buttons": "select"}')


@pytest.mark.parametrize("text", ['{"buttons": ["nope"]}', '{"lz": 1}', "[1]", "{", '{"buttons": 70000}'])
def test_bad_remote_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        gm.remote_from_json(text)


def test_requests() -> None:
    assert gm.parse_request(" DAMP ") == gm.Request("damp", "")
    assert gm.parse_request('{"trigger": "run", "id": "x1"}') == gm.Request("run", "x1")
    assert gm.parse_request(gm.encode_request("default", "abc")) == gm.Request("default", "abc")
    assert gm.encode_request("start") == "start"
    for bad in ("jump", '{"trigger": "fly"}', "{not json", '["damp"]', ""):
        with pytest.raises(ValueError):
            gm.parse_request(bad)
    with pytest.raises(ValueError):
        gm.encode_request("lowstate")


def test_encode_json_keeps_status_valid_json() -> None:
    text = gm.encode_json({"a": float("nan"), "b": [1.0, float("inf")], "c": np.float32(2.5), "d": np.arange(2)})
    assert json.loads(text) == {"a": None, "b": [1.0, None], "c": 2.5, "d": [0, 1]}


def test_qos_of_the_lowlevel_topics_matches_unitree() -> None:
    from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

    assert gm.LOWLEVEL_QOS.reliability == ReliabilityPolicy.BEST_EFFORT
    assert gm.LOWLEVEL_QOS.durability == DurabilityPolicy.VOLATILE
    assert gm.CONTROL_QOS.reliability == ReliabilityPolicy.RELIABLE
