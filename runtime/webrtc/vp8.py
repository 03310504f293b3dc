"""A realtime VP8 encoder (PyAV libvpx) producing RTP-ready ``av.Packet`` s at a 90 kHz clock.

The settings follow aiortc's own ``Vp8Encoder`` (realtime deadline, no lag, CBR), but the
bitrate is fixed per resolution because one encoder serves many viewers.
"""

from __future__ import annotations

import fractions
import multiprocessing

import av
import numpy as np
from av.video.frame import PictureType

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
MIN_BITRATE = 300_000
MAX_BITRATE = 4_000_000


def bitrate_for(width: int, height: int, fps: float) -> int:
    """~0.1 bit per pixel per frame: 640x480@30 -> ~0.9 Mbit/s."""
    return int(min(MAX_BITRATE, max(MIN_BITRATE, 0.1 * width * height * fps)))


def _thread_count(pixels: int) -> int:
    cpus = multiprocessing.cpu_count()
    if pixels > 1280 * 960 and cpus >= 6:
        return 3
    return 2 if pixels > 640 * 480 and cpus >= 3 else 1


class Vp8Encoder:
    """Encodes RGB frames of one size; make a new one when the size changes."""

    def __init__(self, width: int, height: int, fps: float = 30.0) -> None:
        self.width, self.height = width, height
        self.bitrate = bitrate_for(width, height, fps)
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height = width, height
        codec.pix_fmt = "yuv420p"
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = fractions.Fraction(round(fps), 1)
        codec.bit_rate = self.bitrate
        codec.gop_size = 3000  # keyframes only when asked for
        codec.qmin, codec.qmax = 2, 56
        codec.options = {
            "bufsize": str(self.bitrate),  # rc_buf_sz = 1000 ms
            "cpu-used": "-6",
            "deadline": "realtime",
            "lag-in-frames": "0",
            "minrate": str(self.bitrate),
            "maxrate": str(self.bitrate),
            "noise-sensitivity": "4",
            "overshoot-pct": "15",
            "partitions": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
        }
        codec.thread_count = _thread_count(width * height)
        self._codec = codec

    def encode(self, rgb: np.ndarray, pts: int, keyframe: bool = False) -> list[av.Packet]:
        """Packets for one frame; ``pts`` is in 1/90000 s."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        if keyframe:
            frame.pict_type = PictureType.I
        packets = self._codec.encode(frame)
        for packet in packets:
            packet.pts = pts
            packet.time_base = VIDEO_TIME_BASE
        return packets
