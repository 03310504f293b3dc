"""MP4 checks with PyAV: is it an MP4 container with a decodable video stream, and what is in it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av


class NotAVideo(ValueError):
    """The bytes are not an MP4 whose video stream decodes."""


@dataclass(frozen=True)
class VideoInfo:
    frames: int  # demuxed video packets, one per frame in MP4
    duration_s: float | None
    width: int
    height: int
    codec: str

    def describe(self) -> str:
        duration = f"{self.duration_s:.2f} s" if self.duration_s is not None else "unknown duration"
        return f"{self.frames} frames, {duration}, {self.width}x{self.height} {self.codec}"


def has_ftyp_box(head: bytes) -> bool:
    """An ISO base media file (MP4) starts with a box whose type, at offset 4, is ``ftyp``."""
    return len(head) >= 12 and head[4:8] == b"ftyp"


def check_mp4(source: BinaryIO) -> VideoInfo:
    """Check the container and decode the first video frame of a seekable file; raises ``NotAVideo``."""
    source.seek(0)
    head = source.read(12)
    source.seek(0)
    if not has_ftyp_box(head):
        raise NotAVideo("not an MP4 file (no 'ftyp' box at offset 4)")
    try:
        with av.open(source, mode="r") as container:
            if not container.streams.video:
                raise NotAVideo("the MP4 has no video stream")
            video = container.streams.video[0]
            frame = next(container.decode(video), None)
            if frame is None:
                raise NotAVideo("no video frame decodes")
            return VideoInfo(video.frames, _duration(container, video), frame.width, frame.height, video.codec.name)
    except av.FFmpegError as exc:
        raise NotAVideo(f"the video does not decode: {exc}") from exc
    finally:
        source.seek(0)


def inspect_video(path: Path) -> VideoInfo:
    """Count frames (demuxed packets) and read duration and size of a stored video; raises ``NotAVideo``."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise NotAVideo("no video stream")
            stream = container.streams.video[0]
            frames = sum(1 for packet in container.demux(stream) if packet.size)
            ctx = stream.codec_context
            return VideoInfo(frames, _duration(container, stream), ctx.width, ctx.height, stream.codec.name)
    except av.FFmpegError as exc:
        raise NotAVideo(f"the video does not open: {exc}") from exc


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None
