"""Helpers for the WebRTC tests: the sidecar on uvicorn in a thread, aiortc clients, ROS feeds and probes.

Every ICE candidate exchanged is 127.0.0.1 (the server gathers loopback only and the
clients drop any other candidate), so no traffic leaves the loopback interface.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from rclpy.node import Node
from sensor_msgs.msg import Image

from api.app import create_app
from runtime.ros.executor_thread import RosExecutorThread
from runtime.ros.messages import image_msg_to_rgb
from runtime.ros.sidecar_node import SENSOR_QOS
from runtime.ros.synthetic_inputs_node import SyntheticInputsNode
from runtime.webrtc.sdp import filter_candidates
from tests.support import ThreadedServer

# ------------------------------------------------------------------------------ server


class SidecarThread:
    """The real app (ROS 2 on) served by uvicorn on 127.0.0.1 in a thread. WebRTC settings come
    from the environment (``RUNROBOT_ICE_LOOPBACK_ONLY``, ``RUNROBOT_WEBRTC_CONNECT_TIMEOUT``)."""

    def __init__(self, data_dir: Path) -> None:
        self.app = create_app(data_dir, enable_ros=True)
        self._server = ThreadedServer(self.app)
        self.url = self._server.url

    def __enter__(self) -> SidecarThread:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> httpx.Response:
        return httpx.request(method, self.url + path, json=body, timeout=timeout)

    def stats(self) -> dict:
        response = self.call("GET", "/webrtc/stats")
        assert response.status_code == 200, response.text
        return response.json()


# ------------------------------------------------------------------------------ aiortc clients


def loopback_only(sdp: str) -> str:
    return filter_candidates(sdp, lambda address: address == "127.0.0.1")


def new_peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def negotiate(pc: RTCPeerConnection, url: str, room_id: str, direction: str) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": loopback_only(pc.localDescription.sdp), "type": "offer", "room_id": room_id, "direction": direction}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{url}/webrtc/offer", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "answer"
    await pc.setRemoteDescription(RTCSessionDescription(loopback_only(answer["sdp"]), "answer"))


@dataclass
class Viewer:
    """An aiortc client watching a room; ``frames`` collects (width, height, arrival time)."""

    pc: RTCPeerConnection
    frames: list[tuple[int, int, float]] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    async def wait_frames(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.frames) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"viewer got {len(self.frames)} frames in {timeout} s, wanted {count}")
            await asyncio.sleep(0.02)


async def watch(url: str, room_id: str, on_frame: Callable[[av.VideoFrame], None] | None = None) -> Viewer:
    pc = new_peer()
    viewer = Viewer(pc)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        async def consume() -> None:
            try:
                while True:
                    frame = await track.recv()
                    viewer.frames.append((frame.width, frame.height, time.monotonic()))
                    if on_frame is not None:
                        on_frame(frame)
            except MediaStreamError:
                viewer.ended.set()

        viewer.task = asyncio.ensure_future(consume())

    pc.addTransceiver("video", direction="recvonly")
    await negotiate(pc, url, room_id, "recvonly")
    return viewer


class NumberedFrames(MediaStreamTrack):
    """A camera for ingest: frame k has value (k * 10) % 250 in its top-left 32x32 block; size can change."""

    kind = "video"

    def __init__(self, width: int, height: int, fps: float = 30.0) -> None:
        super().__init__()
        self.size = (width, height)
        self.sent = 0
        self._period = 1.0 / fps
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self.sent * self._period
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        width, height = self.size
        rgb = np.full((height, width, 3), 60, dtype=np.uint8)
        rgb[:32, :32] = (self.sent * 10) % 250
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.sent * 3000
        frame.time_base = Fraction(1, 90000)
        self.sent += 1
        return frame


# ------------------------------------------------------------------------------ ROS side


class TopicRecorder:
    """Records (width, height, top-left value) of each Image on ``topic`` (own rclpy context)."""

    def __init__(self, topic: str) -> None:
        self.ros = RosExecutorThread("test-recorder")
        self.node = self.ros.add_node(Node("webrtc_test_recorder", context=self.ros.context))
        self.images: list[tuple[int, int, int]] = []
        self.node.create_subscription(Image, topic, self._on_image, SENSOR_QOS)
        self.ros.start()

    def _on_image(self, msg: Image) -> None:
        rgb = image_msg_to_rgb(msg)
        self.images.append((rgb.shape[1], rgb.shape[0], int(rgb[8:24, 8:24].mean())))

    def close(self) -> None:
        self.ros.shutdown()


CONNECT_TIMEOUT_S = 2.0  # the server's connect timeout in the tests


@dataclass
class CameraSession:
    server: SidecarThread
    session_id: str
    room_id: str
    topic: str
    joint_input_room_id: str

    @property
    def url(self) -> str:
        return self.server.url


class Feed:
    """Synthetic camera frames at 30 fps on a room topic, from this process's own rclpy context."""

    def __init__(self, topic: str, size: tuple[int, int]) -> None:
        self.ros = RosExecutorThread("test-feed")
        self.node = SyntheticInputsNode(
            {"front": topic}, f"{topic}_unused_joints", ["j0"], image_size=size, context=self.ros.context
        )
        self.ros.add_node(self.node)
        self.ros.start()
        self.node.start()

    def resize(self, height: int, width: int) -> None:
        self.node.image_size = (height, width)

    def close(self) -> None:
        self.node.stop()
        self.ros.shutdown()
