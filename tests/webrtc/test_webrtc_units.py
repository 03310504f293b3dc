"""ROS-free parts of the WebRTC relay: SDP edits, ICE host addresses, the shared room encoder."""

from __future__ import annotations

import asyncio
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from runtime.webrtc.ice import host_addresses
from runtime.webrtc.peers import CameraRoom, RoomNotFound, WebRtcPeers, WebRtcUnavailable, _forward_keyframe_requests
from runtime.webrtc.room_relay import RoomRelays
from runtime.webrtc.sdp import OfferError, add_video_bitrate_hints, drop_mdns_candidates, video_direction

pytestmark = pytest.mark.timeout(60)

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10\r\na=sendrecv\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=ice-ufrag:abcd\r\n"
    "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1\r\na=sendonly\r\n"
    "a=candidate:1 1 udp 2122260223 0a1b2c3d-0000-4000-8000-000000000000.local 5000 typ host\r\n"
    "a=candidate:2 1 udp 2122260223 127.0.0.1 5001 typ host\r\n"
)


def test_mdns_candidates_are_dropped() -> None:
    sdp = drop_mdns_candidates(OFFER)
    assert ".local" not in sdp
    assert "a=candidate:2 1 udp 2122260223 127.0.0.1 5001 typ host" in sdp
    assert sdp.count("\r\n") == OFFER.count("\r\n") - 1


def test_bitrate_hints_go_on_video_codecs_only() -> None:
    sdp = add_video_bitrate_hints(OFFER, 1500, 600)
    lines = sdp.split("\r\n")
    hints = "x-google-start-bitrate=1500;x-google-min-bitrate=600"
    assert lines[lines.index("a=rtpmap:96 VP8/90000") + 1] == f"a=fmtp:96 {hints}"
    assert f"a=fmtp:102 packetization-mode=1;{hints}" in lines
    assert "a=fmtp:97 apt=96" in lines and "a=fmtp:111 minptime=10" in lines
    assert sdp.count("x-google-start-bitrate") == 2


def test_video_direction_and_unusable_offers() -> None:
    assert video_direction(OFFER) == "sendonly"
    with pytest.raises(OfferError):
        video_direction("hello")
    with pytest.raises(OfferError, match="exactly one video"):
        video_direction(OFFER.split("m=video")[0])


def test_loopback_is_added_to_host_addresses() -> None:
    assert host_addresses(["192.0.2.2"], loopback_only=False) == ["192.0.2.2", "127.0.0.1"]
    assert host_addresses(["127.0.0.1"], loopback_only=False) == ["127.0.0.1"]
    assert host_addresses(["192.0.2.2", "fd00::2"], loopback_only=True) == ["127.0.0.1"]


def test_pli_on_the_sender_asks_the_track_for_a_keyframe() -> None:
    async def run() -> int:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        sender = pc.addTransceiver("video", direction="sendonly").sender
        asked = []

        class Track:
            def request_keyframe(self) -> None:
                asked.append(1)

        _forward_keyframe_requests(sender, Track())
        sender._send_keyframe()
        await pc.close()
        return len(asked)

    assert asyncio.run(run()) == 1


def test_offers_without_a_frame_transport_are_refused_before_any_peer_exists() -> None:
    def lookup(room_id: str) -> CameraRoom:
        if room_id != "cam":
            raise RoomNotFound(room_id)
        return CameraRoom("cam", "/t")

    async def run() -> None:
        peers = WebRtcPeers(lookup, None, None)
        with pytest.raises(RoomNotFound):
            await peers.answer(OFFER, "offer", "other", "sendonly")
        with pytest.raises(WebRtcUnavailable):
            await peers.answer(OFFER, "offer", "cam", "sendonly")
        with pytest.raises(OfferError, match="direction recvonly"):
            await peers.answer(OFFER, "offer", "cam", "recvonly")  # OFFER only sends
        assert peers.stats()["peers"] == []

    asyncio.run(run())


class FakeSource:
    """A FrameSource whose frames the test pushes from its own thread."""

    def __init__(self) -> None:
        self.callbacks: dict[str, object] = {}
        self.subscribes = 0

    def subscribe(self, topic, on_frame):
        self.subscribes += 1
        self.callbacks[topic] = on_frame
        return lambda: self.callbacks.pop(topic, None)


def _frame(h: int, w: int, k: int) -> np.ndarray:
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, :, 0] = (np.arange(w) + 4 * k) % 256
    return rgb


def _feed(source: FakeSource, topic: str, stop: threading.Event, fps: float, size: list[tuple[int, int]]) -> None:
    k = 0
    while not stop.is_set():
        callback = source.callbacks.get(topic)
        if callback is not None:
            callback(_frame(*size[0], k))
            k += 1
        time.sleep(1 / fps)


def test_room_relay_shares_one_encoder_caps_fps_and_survives_resizes() -> None:
    source = FakeSource()
    size = [(120, 160)]
    stop = threading.Event()

    async def drain(track, packets: list[av.Packet]) -> None:
        while True:
            packets.append(await track.recv())

    async def run() -> None:
        relays = RoomRelays(source, max_fps=30)
        tracks = [relays.add_viewer("room", "/t") for _ in range(3)]
        got: list[list[av.Packet]] = [[] for _ in tracks]
        tasks = [asyncio.create_task(drain(t, p)) for t, p in zip(tracks, got, strict=True)]
        feeder = threading.Thread(target=_feed, args=(source, "/t", stop, 90, size), daemon=True)
        feeder.start()
        await asyncio.sleep(1.0)
        stats = relays.stats()["room"]
        assert source.subscribes == 1 and stats["encoders"] == 1 and stats["viewers"] == 3
        assert stats["frames_in"] > 60 and 20 <= stats["frames_encoded"] <= 36  # 90 fps in, <= 30 fps out
        for packets in got:
            assert packets and packets[0].is_keyframe and packets[0].time_base == Fraction(1, 90000)
            assert [p.pts for p in packets] == sorted(set(p.pts for p in packets))

        size[0] = (240, 320)
        await asyncio.sleep(0.5)
        decoder = av.CodecContext.create("libvpx", "r")
        sizes = {(f.width, f.height) for p in got[0] for f in decoder.decode(p)}
        assert sizes == {(160, 120), (320, 240)}
        assert relays.stats()["room"]["encoder_restarts"] == 1

        for track in tracks:
            track.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert relays.stats() == {} and "/t" not in source.callbacks

    try:
        asyncio.run(run())
    finally:
        stop.set()
