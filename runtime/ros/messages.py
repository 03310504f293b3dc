"""Conversions between ROS 2 messages and numpy, using the zero-copy fast paths."""

from __future__ import annotations

import time

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage, Image, JointState

from runtime.images import decode_compressed_image, decode_raw_image, encode_jpeg


def stamp_now(clock_ns: int | None = None) -> Time:
    ns = time.time_ns() if clock_ns is None else clock_ns
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def stamp_to_ns(stamp: Time) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def rgb_to_image_msg(rgb: np.ndarray, frame_id: str = "", encoding: str = "rgb8") -> Image:
    """An Image message holding ``rgb`` (H, W, 3 uint8); ``bgr8`` flips channels first."""
    arr = rgb[:, :, ::-1] if encoding == "bgr8" else rgb
    msg = Image()
    msg.header.stamp = stamp_now()
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(arr.shape[1] * (arr.shape[2] if arr.ndim == 3 else 1))
    msg.data = np.ascontiguousarray(arr).tobytes()
    return msg


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    return decode_raw_image(msg.encoding, msg.height, msg.width, msg.step, msg.data)


def rgb_to_compressed_msg(rgb: np.ndarray, frame_id: str = "") -> CompressedImage:
    msg = CompressedImage()
    msg.header.stamp = stamp_now()
    msg.header.frame_id = frame_id
    msg.format = "jpeg"
    msg.data = encode_jpeg(rgb)
    return msg


def compressed_msg_to_rgb(msg: CompressedImage) -> np.ndarray:
    return decode_compressed_image(msg.format, msg.data)


def joint_state_msg(names: list[str], positions: np.ndarray | list[float], stamp_ns: int | None = None) -> JointState:
    msg = JointState()
    msg.header.stamp = stamp_now(stamp_ns)
    msg.name = list(names)
    msg.position = [float(v) for v in positions]
    return msg
