"""Decode camera payloads (raw ROS image layouts, JPEG/PNG) into RGB uint8 arrays.

The functions take plain bytes and metadata so that they stay ROS-free.
"""

from __future__ import annotations

import cv2
import numpy as np

CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}


class ImageDecodeError(ValueError):
    """The payload is not an image this runtime accepts."""


def decode_raw_image(encoding: str, height: int, width: int, step: int, data: bytes | memoryview) -> np.ndarray:
    """Return an (H, W, 3) RGB array from a raw ``sensor_msgs/Image`` layout (rgb8, bgr8, mono8)."""
    channels = CHANNELS.get(encoding)
    if channels is None:
        raise ImageDecodeError(f"unsupported image encoding {encoding!r}; use one of {sorted(CHANNELS)}")
    row = width * channels
    if height <= 0 or width <= 0 or step < row:
        raise ImageDecodeError(f"bad image geometry {width}x{height} step {step} for {encoding}")
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size < step * height:
        raise ImageDecodeError(f"image data holds {buf.size} bytes, {encoding} {width}x{height} needs {step * height}")
    img = buf[: step * height].reshape(height, step)[:, :row].reshape(height, width, channels)
    if encoding == "bgr8":
        return img[:, :, ::-1]
    if encoding == "mono8":
        return np.repeat(img, 3, axis=2)
    return img


def decode_compressed_image(fmt: str, data: bytes | memoryview) -> np.ndarray:
    """Return an (H, W, 3) RGB array from JPEG or PNG bytes."""
    kind = fmt.lower()
    if not any(k in kind for k in ("jpeg", "jpg", "png")):
        raise ImageDecodeError(f"unsupported compressed format {fmt!r}; use jpeg or png")
    if len(data) == 0:
        raise ImageDecodeError(f"empty {fmt} payload")
    try:
        bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ImageDecodeError(f"could not decode {fmt} payload of {len(data)} bytes: {exc}") from exc
    if bgr is None:
        raise ImageDecodeError(f"could not decode {fmt} payload of {len(data)} bytes")
    return bgr[:, :, ::-1]


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB array."""
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageDecodeError("JPEG encoding failed")
    return buf.tobytes()
