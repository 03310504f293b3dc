"""WebRTC against the served sidecar with real aiortc clients and real ROS 2 rooms."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from runtime.webrtc.sdp import filter_candidates
from tests.support import wait_until
from tests.webrtc.rtc_helpers import (
    CONNECT_TIMEOUT_S,
    CameraSession,
    Feed,
    NumberedFrames,
    TopicRecorder,
    negotiate,
    new_peer,
    watch,
)

pytestmark = pytest.mark.timeout(120)


def relay_of(sidecar: CameraSession) -> dict | None:
    relays = [r for r in sidecar.server.stats()["relays"] if r["room_id"] == sidecar.room_id]
    assert len(relays) <= 1
    return relays[0] if relays else None


def test_viewer_receives_room_frames_and_ends_when_the_session_is_deleted(sidecar: CameraSession, feed: Feed) -> None:
    async def run() -> None:
        viewer = await watch(sidecar.url, sidecar.room_id)
        start = time.monotonic()
        await viewer.wait_frames(20, timeout=10)
        elapsed = time.monotonic() - start
        assert {(w, h) for w, h, _ in viewer.frames} == {(320, 240)}
        relay = await asyncio.to_thread(relay_of, sidecar)
        assert relay is not None and relay["viewers"] == 1 and relay["encoders"] == 1
        assert relay["width"] == 320 and relay["height"] == 240

        # Deleting the session removes the room: the server ends the track and stops the encoder.
        response = await asyncio.to_thread(sidecar.server.call, "DELETE", f"/sessions/{sidecar.session_id}")
        assert response.status_code == 200
        await asyncio.wait_for(viewer.ended.wait(), timeout=5)
        stats = await asyncio.to_thread(sidecar.server.stats)
        assert stats["relays"] == [] and stats["peers"] == []
        await viewer.pc.close()
        return elapsed

    elapsed = asyncio.run(run())
    assert elapsed < 10


def test_stopping_the_session_ends_its_viewers(sidecar: CameraSession, feed: Feed) -> None:
    async def run() -> None:
        started = await asyncio.to_thread(sidecar.server.call, "POST", f"/sessions/{sidecar.session_id}/start")
        assert started.status_code == 200, started.text
        viewer = await watch(sidecar.url, sidecar.room_id)
        await viewer.wait_frames(5, timeout=10)
        await asyncio.sleep(0.5)  # the room watch sees the session running
        assert not viewer.ended.is_set()
        stopped = await asyncio.to_thread(sidecar.server.call, "POST", f"/sessions/{sidecar.session_id}/stop")
        assert stopped.status_code == 200, stopped.text
        await asyncio.wait_for(viewer.ended.wait(), timeout=5)
        assert await asyncio.to_thread(relay_of, sidecar) is None
        await viewer.pc.close()

    asyncio.run(run())


def test_four_viewers_share_one_encoder_and_each_starts_on_a_keyframe(sidecar: CameraSession, feed: Feed) -> None:
    async def run() -> None:
        first = [await watch(sidecar.url, sidecar.room_id) for _ in range(2)]
        for viewer in first:
            await viewer.wait_frames(5, timeout=10)
        # Late joiners can only decode if the shared encoder makes them a keyframe (its GOP is 3000 frames).
        late = [await watch(sidecar.url, sidecar.room_id) for _ in range(2)]
        for viewer in late:
            await viewer.wait_frames(3, timeout=10)

        stats = await asyncio.to_thread(sidecar.server.stats)
        assert sidecar.server.app.state.ros_node.count_subscribers(sidecar.topic) == 2  # the session and the relay
        relays = [r for r in stats["relays"] if r["room_id"] == sidecar.room_id]
        assert len(relays) == 1, stats["relays"]
        assert relays[0]["encoders"] == 1 and relays[0]["viewers"] == 4
        assert relays[0]["keyframes"] >= 2  # the first one plus at least one for the late joiners
        peers = stats["peers"]
        assert len(peers) == 4 and all(p["connection_state"] == "connected" for p in peers)
        assert all(p["keyframes_sent"] >= 1 for p in peers)

        # One viewer leaves: the others keep the same encoder.
        await late[0].pc.close()
        await asyncio.to_thread(wait_until, lambda: (relay_of(sidecar) or {}).get("viewers") == 3, 5, "3 viewers")
        assert relay_of(sidecar)["encoders"] == 1
        for viewer in (*first, late[1]):
            await viewer.pc.close()
        await asyncio.to_thread(wait_until, lambda: relay_of(sidecar) is None, 5, "the encoder to stop")
        # The relay's subscriptions are gone; the session's own (one per topic) remain.
        node = sidecar.server.app.state.ros_node
        for topic in (sidecar.topic, f"{sidecar.topic}/compressed"):
            one_subscriber = lambda t=topic: node.count_subscribers(t) == 1  # noqa: E731
            await asyncio.to_thread(wait_until, one_subscriber, 5, f"1 subscriber on {topic}")

    asyncio.run(run())


def test_resolution_change_keeps_the_viewer_going(sidecar: CameraSession, feed: Feed) -> None:
    async def run() -> None:
        viewer = await watch(sidecar.url, sidecar.room_id)
        await viewer.wait_frames(5, timeout=10)
        feed.resize(480, 640)
        deadline = time.monotonic() + 10
        while sum(1 for w, h, _ in viewer.frames if (w, h) == (640, 480)) < 10:
            assert time.monotonic() < deadline, f"sizes seen: {sorted({(w, h) for w, h, _ in viewer.frames})}"
            await asyncio.sleep(0.05)
        relay = await asyncio.to_thread(relay_of, sidecar)
        assert relay["encoder_restarts"] >= 1 and (relay["width"], relay["height"]) == (640, 480)
        assert not viewer.ended.is_set()
        await viewer.pc.close()

    asyncio.run(run())


def test_ingest_publishes_client_frames_to_the_room_topic(sidecar: CameraSession) -> None:
    recorder = TopicRecorder(sidecar.topic)

    async def run() -> None:
        camera = NumberedFrames(320, 240)
        pc = new_peer()
        pc.addTransceiver(camera, direction="sendonly")
        await negotiate(pc, sidecar.url, sidecar.room_id, "sendonly")
        await asyncio.to_thread(wait_until, lambda: len(recorder.images) >= 20, 10, "20 images on the room topic")
        assert {(w, h) for w, h, _ in recorder.images} == {(320, 240)}
        # The numbered block survives VP8 (values step by 10): the frames go forward, in order.
        values = [v for _, _, v in recorder.images[-15:]]
        assert len(set(values)) >= 10 and values != sorted(values, reverse=True)

        camera.size = (640, 480)
        await asyncio.to_thread(
            wait_until, lambda: sum((w, h) == (640, 480) for w, h, _ in recorder.images) >= 10, 10, "640x480 images"
        )
        ingests = (await asyncio.to_thread(sidecar.server.stats))["ingests"]
        assert len(ingests) == 1 and ingests[0]["size_changes"] >= 1
        await pc.close()
        await asyncio.to_thread(wait_until, lambda: not sidecar.server.stats()["ingests"], 5, "ingest to end")

    try:
        asyncio.run(run())
    finally:
        recorder.close()


def test_peer_that_never_connects_is_closed_after_the_timeout(sidecar: CameraSession) -> None:
    async def run() -> None:
        pc = new_peer()
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        # No candidate and no end-of-candidates: the server's ICE waits for candidates that never come.
        sdp = filter_candidates(pc.localDescription.sdp, lambda address: False).replace("a=end-of-candidates\r\n", "")
        assert "a=candidate" not in sdp
        body = {"sdp": sdp, "type": "offer", "room_id": sidecar.room_id, "direction": "recvonly"}
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(f"{sidecar.url}/webrtc/offer", json=body)
        answered = time.monotonic()
        assert response.status_code == 200, response.text
        stats = await asyncio.to_thread(sidecar.server.stats)
        assert len(stats["peers"]) == 1 and stats["peers"][0]["connection_state"] != "connected"
        assert relay_of(sidecar)["encoders"] == 1
        await asyncio.to_thread(
            wait_until, lambda: sidecar.server.stats()["peers_timed_out"] == 1, 10, "the peer to time out"
        )
        waited = time.monotonic() - answered
        assert CONNECT_TIMEOUT_S - 0.5 < waited < CONNECT_TIMEOUT_S + 5
        stats = await asyncio.to_thread(sidecar.server.stats)
        assert stats["peers"] == [] and stats["relays"] == []
        await pc.close()

    asyncio.run(run())


def test_offer_errors(sidecar: CameraSession) -> None:
    async def offer_sdp() -> str:
        pc = new_peer()
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    sdp = asyncio.run(offer_sdp())
    good = {"sdp": sdp, "type": "offer", "room_id": sidecar.room_id, "direction": "recvonly"}

    def post(**changes) -> httpx.Response:
        return sidecar.server.call("POST", "/webrtc/offer", {**good, **changes})

    response = post(room_id="no_such_room")
    assert response.status_code == 404 and "no_such_room" in response.json()["detail"]
    assert post(direction="sendrecv").status_code == 422
    assert post(type="answer").status_code == 422
    for changes in (
        {"room_id": sidecar.joint_input_room_id},  # not a camera room
        {"sdp": "not sdp at all"},
        {"direction": "sendonly"},  # the offer only receives
        {"sdp": sdp.replace("a=ice-ufrag", "a=x-ufrag")},
    ):
        response = post(**changes)
        assert response.status_code == 400, (changes.keys(), response.text)
        assert isinstance(response.json()["detail"], str)
    assert sidecar.server.stats()["peers"] == []
