"""Unit tests for runtime.images (raw and compressed decoding) and runtime.rooms (ROS topic naming)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from rclpy.exceptions import InvalidTopicNameException
from rclpy.validate_full_topic_name import validate_full_topic_name

from runtime.images import (
    ImageDecodeError,
    decode_compressed_image,
    decode_raw_image,
    encode_jpeg,
)
from runtime.rooms import (
    COMPRESSED_IMAGE_MSG,
    IMAGE_MSG,
    JOINT_STATE_MSG,
    SessionRooms,
    is_valid_ros_token,
    new_workspace_id,
    to_ros_token,
)

H, W = 5, 7


def _rgb(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """A random RGB image with distinct channels (so channel swaps are visible)."""
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _smooth_rgb(h: int = 64, w: int = 80) -> np.ndarray:
    """A smooth gradient: JPEG reproduces it closely."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:, :, 0] = (x * 255 // (w - 1)).astype(np.uint8)
    img[:, :, 1] = (y * 255 // (h - 1)).astype(np.uint8)
    img[:, :, 2] = 60
    return img


def _padded(rows: np.ndarray, pad: int, fill: int = 0xAB) -> tuple[bytes, int]:
    """Raw bytes of ``rows`` (H, row_bytes) with ``pad`` garbage bytes at the end of each row."""
    h, row = rows.shape
    buf = np.full((h, row + pad), fill, dtype=np.uint8)
    buf[:, :row] = rows
    return buf.tobytes(), row + pad


# =========================================================================== raw images


def test_rgb8_decodes_exactly() -> None:
    rgb = _rgb()
    out = decode_raw_image("rgb8", H, W, W * 3, rgb.tobytes())
    assert out.shape == (H, W, 3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)


def test_bgr8_is_converted_to_rgb() -> None:
    rgb = _rgb()
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    out = decode_raw_image("bgr8", H, W, W * 3, bgr.tobytes())
    assert out.shape == (H, W, 3)
    np.testing.assert_array_equal(out, rgb)


def test_mono8_is_replicated_to_three_channels() -> None:
    mono = _rgb()[:, :, 0].copy()
    out = decode_raw_image("mono8", H, W, W, mono.tobytes())
    assert out.shape == (H, W, 3)
    assert out.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], mono)


@pytest.mark.parametrize("pad", [1, 3, 16])
def test_rgb8_row_padding_is_skipped(pad: int) -> None:
    rgb = _rgb(seed=pad)
    data, step = _padded(rgb.reshape(H, W * 3), pad)
    out = decode_raw_image("rgb8", H, W, step, data)
    assert out.shape == (H, W, 3)
    np.testing.assert_array_equal(out, rgb)


def test_bgr8_row_padding_is_skipped() -> None:
    rgb = _rgb(seed=3)
    data, step = _padded(np.ascontiguousarray(rgb[:, :, ::-1]).reshape(H, W * 3), 5)
    np.testing.assert_array_equal(decode_raw_image("bgr8", H, W, step, data), rgb)


def test_mono8_row_padding_is_skipped() -> None:
    mono = _rgb(seed=4)[:, :, 1].copy()
    data, step = _padded(mono, 4, fill=0xFF)
    out = decode_raw_image("mono8", H, W, step, data)
    np.testing.assert_array_equal(out, np.repeat(mono[:, :, None], 3, axis=2))


def test_raw_decode_accepts_memoryview_and_bytearray() -> None:
    rgb = _rgb(seed=5)
    np.testing.assert_array_equal(decode_raw_image("rgb8", H, W, W * 3, memoryview(rgb.tobytes())), rgb)
    np.testing.assert_array_equal(decode_raw_image("rgb8", H, W, W * 3, bytearray(rgb.tobytes())), rgb)


@pytest.mark.parametrize("encoding", ["rgba8", "bgra8", "16UC1", "mono16", "32FC1", "yuv422", "RGB8", ""])
def test_unsupported_encodings_raise(encoding: str) -> None:
    data = bytes(H * W * 8)
    with pytest.raises(ImageDecodeError, match="unsupported image encoding"):
        decode_raw_image(encoding, H, W, W * 4, data)


def test_image_decode_error_is_a_value_error() -> None:
    assert issubclass(ImageDecodeError, ValueError)


@pytest.mark.parametrize(
    ("encoding", "channels"),
    [("rgb8", 3), ("bgr8", 3), ("mono8", 1)],
)
def test_short_buffers_raise(encoding: str, channels: int) -> None:
    step = W * channels
    full = bytes(step * H)
    with pytest.raises(ImageDecodeError, match="needs"):
        decode_raw_image(encoding, H, W, step, full[:-1])
    with pytest.raises(ImageDecodeError):
        decode_raw_image(encoding, H, W, step, b"")
    # With padding, the buffer must hold step * height bytes, not just width * channels * height.
    with pytest.raises(ImageDecodeError):
        decode_raw_image(encoding, H, W, step + 4, full)
    # Exactly enough is fine.
    assert decode_raw_image(encoding, H, W, step, full).shape == (H, W, 3)


@pytest.mark.parametrize(
    ("height", "width", "step"),
    [(0, W, W * 3), (H, 0, 0), (-1, W, W * 3), (H, W, W * 3 - 1), (H, W, 0)],
)
def test_bad_geometry_raises(height: int, width: int, step: int) -> None:
    with pytest.raises(ImageDecodeError, match="geometry"):
        decode_raw_image("rgb8", height, width, step, bytes(10_000))


# =========================================================================== compressed images


def test_png_round_trip_is_exact() -> None:
    rgb = _rgb(48, 32, seed=7)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok
    out = decode_compressed_image("png", buf.tobytes())
    assert out.shape == rgb.shape
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("fmt", ["jpeg", "jpg", "JPEG", "rgb8; jpeg compressed bgr8"])
def test_jpeg_round_trip_is_close_and_rgb_ordered(fmt: str) -> None:
    rgb = _smooth_rgb()
    data = encode_jpeg(rgb, quality=95)
    assert data[:2] == b"\xff\xd8"  # JPEG SOI marker
    out = decode_compressed_image(fmt, data)
    assert out.shape == rgb.shape
    assert out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - rgb.astype(np.int16))
    assert diff.mean() < 3.0
    # Channel order survives the round trip: red grows left to right, green top to bottom, blue stays put.
    assert out[32, -1, 0] > 200 and out[32, 0, 0] < 50
    assert out[-1, 40, 1] > 200 and out[0, 40, 1] < 50
    assert abs(int(out[32, 40, 2]) - 60) < 10


def test_decode_compressed_accepts_memoryview() -> None:
    rgb = _smooth_rgb(32, 32)
    out = decode_compressed_image("jpeg", memoryview(encode_jpeg(rgb)))
    assert out.shape == (32, 32, 3)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00",
        b"this is not an image at all",
        b"\xff\xd8\xff\xe0" + b"\x00" * 64,  # a JPEG header and nothing else
        b"\x89PNG\r\n\x1a\n" + b"\x01" * 32,  # a PNG signature and garbage
        bytes(range(256)) * 4,
    ],
)
def test_garbage_compressed_bytes_raise(data: bytes) -> None:
    with pytest.raises(ImageDecodeError, match="could not decode"):
        decode_compressed_image("jpeg", data)


def test_empty_compressed_payload_raises_image_decode_error() -> None:
    with pytest.raises(ImageDecodeError):
        decode_compressed_image("jpeg", b"")


@pytest.mark.parametrize("fmt", ["bmp", "tiff", "", "rgb8"])
def test_unsupported_compressed_format_raises(fmt: str) -> None:
    with pytest.raises(ImageDecodeError, match="unsupported compressed format"):
        decode_compressed_image(fmt, encode_jpeg(_smooth_rgb(32, 32)))


# =========================================================================== rooms


def _assert_valid_topic(topic: str) -> None:
    assert validate_full_topic_name(topic) is True, topic


def test_build_rooms_topics_ids_and_types() -> None:
    rooms = SessionRooms.build("s1", "ws_abc", ["front", "wrist"])
    assert rooms.workspace_id == "ws_abc"
    assert list(rooms.cameras) == ["front", "wrist"]
    assert rooms.cameras["front"].room_id == "s1_camera_front"
    assert rooms.cameras["front"].topic == "/runrobot/ws_abc/s1_camera_front"
    assert rooms.cameras["wrist"].topic == "/runrobot/ws_abc/s1_camera_wrist"
    assert rooms.joint_input.topic == "/runrobot/ws_abc/s1_joint_input"
    assert rooms.joint_output.topic == "/runrobot/ws_abc/s1_joint_output"
    assert {r.msg_type for r in rooms.cameras.values()} == {IMAGE_MSG}
    assert rooms.joint_input.msg_type == JOINT_STATE_MSG
    assert rooms.joint_output.msg_type == JOINT_STATE_MSG
    all_rooms = rooms.all_rooms()
    assert len(all_rooms) == 4
    assert len({r.topic for r in all_rooms}) == 4
    for room in all_rooms:
        _assert_valid_topic(room.topic)
        _assert_valid_topic(f"{room.topic}/compressed")
        assert room.topic.startswith("/runrobot/ws_abc/")
    assert COMPRESSED_IMAGE_MSG == "sensor_msgs/msg/CompressedImage"


def test_rooms_as_dict() -> None:
    d = SessionRooms.build("s1", "ws_abc", ["front"]).as_dict()
    assert d["cameras"]["front"] == {
        "room_id": "s1_camera_front",
        "topic": "/runrobot/ws_abc/s1_camera_front",
        "msg_type": IMAGE_MSG,
    }
    assert d["joint_input"]["topic"] == "/runrobot/ws_abc/s1_joint_input"
    assert d["joint_output"]["room_id"] == "s1_joint_output"


@pytest.mark.parametrize(
    ("session_id", "token"),
    [
        ("my-session", "my_session"),
        ("1abc", "s1abc"),
        ("my session.v2", "my_session_v2"),
        ("--a--b--", "a_b"),
        ("a__b", "a_b"),
        ("_lead", "lead"),
        ("---", "x"),
        ("42", "s42"),
        ("séance", "s_ance"),
        ("Valid_Name9", "Valid_Name9"),
    ],
)
def test_session_ids_are_sanitized(session_id: str, token: str) -> None:
    assert to_ros_token(session_id) == token
    assert is_valid_ros_token(token)
    rooms = SessionRooms.build(session_id, "ws_1", ["front"])
    assert rooms.joint_output.room_id == f"{token}_joint_output"
    for room in rooms.all_rooms():
        _assert_valid_topic(room.topic)
        _assert_valid_topic(f"{room.topic}/compressed")


@pytest.mark.parametrize("workspace_id", ["", "1ws", "ws-1", "ws__x", "ws/x", "ws x", "_ws", "ws.1", "wś"])
def test_invalid_workspace_ids_are_rejected(workspace_id: str) -> None:
    with pytest.raises(ValueError, match="workspace_id"):
        SessionRooms.build("s1", workspace_id, ["front"])


@pytest.mark.parametrize("camera", ["", "front-cam", "1cam", "cam__x", "a/b", "front cam", "_front", "~cam"])
def test_invalid_camera_names_are_rejected(camera: str) -> None:
    with pytest.raises(ValueError, match="camera name"):
        SessionRooms.build("s1", "ws_1", ["front", camera])


def test_invalid_names_would_be_invalid_topics() -> None:
    """The token rule is at least as strict as ROS: a rejected name never sneaks into a topic."""
    for bad in ["front-cam", "1cam", "a b", "~cam"]:
        assert not is_valid_ros_token(bad)
        with pytest.raises(InvalidTopicNameException):
            validate_full_topic_name(f"/runrobot/ws_1/{bad}")


def test_new_workspace_ids_are_valid_and_unique() -> None:
    ids = {new_workspace_id() for _ in range(50)}
    assert len(ids) == 50
    for ws in ids:
        assert is_valid_ros_token(ws)
        rooms = SessionRooms.build("s", ws, ["front"])
        for room in rooms.all_rooms():
            _assert_valid_topic(room.topic)
