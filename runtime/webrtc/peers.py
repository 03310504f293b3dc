"""Signalling and peer lifetime: answers offers for camera rooms, closes peers that never
connect, that fail, whose room disappears, or when the app stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from runtime.webrtc.frames import FrameSink, FrameSource
from runtime.webrtc.ice import install_loopback_host_candidates, rtc_configuration
from runtime.webrtc.ingest import RoomIngest
from runtime.webrtc.room_relay import CODEC, RoomRelays
from runtime.webrtc.sdp import OfferError, add_video_bitrate_hints, drop_mdns_candidates, video_direction
from runtime.webrtc.settings import WebRtcSettings
from runtime.webrtc.viewer_track import ViewerTrack

log = logging.getLogger(__name__)

# The client's direction -> the offered video directions that fit it.
DIRECTIONS = {"recvonly": ("recvonly", "sendrecv"), "sendonly": ("sendonly", "sendrecv")}


class RoomNotFound(LookupError):
    """No session has a room with that id."""


class NotACameraRoom(ValueError):
    """The room exists but does not carry camera images."""


class WebRtcUnavailable(RuntimeError):
    """The sidecar has no frame transport (started without ROS 2)."""


@dataclass(frozen=True)
class CameraRoom:
    """A camera room; ``session_state`` (not part of its identity) lets peers end when the session stops."""

    room_id: str
    topic: str
    session_state: str = field(default="", compare=False)


RoomLookup = Callable[[str], CameraRoom]
"""Resolves a room id; raises RoomNotFound or NotACameraRoom."""


@dataclass
class Peer:
    peer_id: str
    room: CameraRoom
    direction: str
    pc: RTCPeerConnection
    created: float = field(default_factory=time.monotonic)
    track: ViewerTrack | None = None
    ingest: RoomIngest | None = None
    timeout_task: asyncio.Task | None = None
    closing: bool = False

    def stats(self) -> dict:
        return {
            "peer_id": self.peer_id,
            "room_id": self.room.room_id,
            "direction": self.direction,
            "connection_state": self.pc.connectionState,
            "age_s": round(time.monotonic() - self.created, 3),
            "packets_sent": self.track.packets_sent if self.track else None,
            "keyframes_sent": self.track.keyframes_sent if self.track else None,
            "frames_published": self.ingest.frames_published if self.ingest else None,
        }


def _codec_preferences() -> list:
    """VP8 (+RTX) for viewers: the relay's packets are VP8."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    return [c for c in codecs if c.mimeType.lower() in (f"video/{CODEC.lower()}", "video/rtx")]


def _forward_keyframe_requests(sender: RTCRtpSender, track: ViewerTrack) -> None:
    """aiortc calls ``sender._send_keyframe()`` on PLI/FIR, which only affects its own encoder;
    with pre-encoded packets the room encoder must make the keyframe."""
    original = sender._send_keyframe

    def send_keyframe() -> None:
        original()
        track.request_keyframe()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


class WebRtcPeers:
    """All WebRTC peers of the sidecar: viewers of camera rooms (via shared room relays) and
    publishers into camera rooms (ingest). Runs on the app's event loop."""

    def __init__(
        self,
        lookup: RoomLookup,
        source: FrameSource | None,
        sink: FrameSink | None,
        settings: WebRtcSettings | None = None,
    ) -> None:
        self.settings = settings or WebRtcSettings.from_env()
        install_loopback_host_candidates(self.settings.loopback_only)
        self._lookup = lookup
        self._sink = sink
        self._relays = RoomRelays(source, self.settings.max_fps) if source is not None else None
        self._peers: dict[str, Peer] = {}
        self._room_watch: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # strong references to fire-and-forget closes
        self.peers_timed_out = 0

    # ---- signalling ----------------------------------------------------------------------
    async def answer(self, sdp: str, sdp_type: str, room_id: str, direction: str) -> RTCSessionDescription:
        """Answer a client's offer to watch (``recvonly``) or publish into (``sendonly``) a camera room.

        Raises RoomNotFound, NotACameraRoom, OfferError or WebRtcUnavailable.
        """
        if sdp_type != "offer":
            raise OfferError(f"expected an SDP offer, got {sdp_type!r}")
        if direction not in DIRECTIONS:
            raise OfferError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
        room = self._lookup(room_id)
        offered = video_direction(sdp)
        if offered not in DIRECTIONS[direction]:
            wanted = " or ".join(DIRECTIONS[direction])
            raise OfferError(f"direction {direction} needs an offered video section that is {wanted}, not {offered}")
        if (direction == "recvonly" and self._relays is None) or (direction == "sendonly" and self._sink is None):
            raise WebRtcUnavailable("WebRTC needs the sidecar's ROS 2 node (the server runs with --no-ros)")

        pc = RTCPeerConnection(rtc_configuration(self.settings.ice_servers))
        peer = Peer(uuid.uuid4().hex[:12], room, direction, pc)
        self._peers[peer.peer_id] = peer
        try:
            if direction == "recvonly":
                self._add_viewer(peer)
            else:
                self._add_ingest(peer)
            pc.on("connectionstatechange", lambda: self._on_state(peer))
            await pc.setRemoteDescription(RTCSessionDescription(drop_mdns_candidates(sdp), "offer"))
            # aiortc gathers all candidates inside setLocalDescription; the answer carries them.
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException as exc:
            await self._close(peer)
            if not isinstance(exc, Exception) or isinstance(exc, OfferError | WebRtcUnavailable):
                raise
            log.info("room %s: offer rejected: %s: %s", room.room_id, type(exc).__name__, exc)
            raise OfferError(f"cannot answer the offer: {type(exc).__name__}: {exc}") from exc
        if direction == "sendonly":
            self._replace_older_ingests(peer)
        peer.timeout_task = asyncio.create_task(self._expire_if_unconnected(peer))
        self._watch_rooms()
        answer_sdp = pc.localDescription.sdp
        if direction == "sendonly":
            answer_sdp = add_video_bitrate_hints(
                answer_sdp, self.settings.ingest_start_kbps, self.settings.ingest_min_kbps
            )
        log.info("room %s: %s peer %s answered", room.room_id, direction, peer.peer_id)
        return RTCSessionDescription(answer_sdp, "answer")

    def _add_viewer(self, peer: Peer) -> None:
        assert self._relays is not None
        peer.track = self._relays.add_viewer(peer.room.room_id, peer.room.topic)
        transceiver = peer.pc.addTransceiver(peer.track, direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences())
        _forward_keyframe_requests(transceiver.sender, peer.track)

    def _add_ingest(self, peer: Peer) -> None:
        assert self._sink is not None
        peer.pc.addTransceiver("video", direction="recvonly")
        peer.ingest = ingest = RoomIngest(peer.room.room_id, self._sink.advertise(peer.room.topic))

        @peer.pc.on("track")
        def on_track(track) -> None:
            if track.kind == "video":
                ingest.start(track)

    def _replace_older_ingests(self, peer: Peer) -> None:
        """One publisher per room: a newer one (say, a reconnecting browser) replaces the older."""
        for other in list(self._peers.values()):
            if other is not peer and other.ingest is not None and other.room.room_id == peer.room.room_id:
                log.info("room %s: publisher %s replaced by %s", peer.room.room_id, other.peer_id, peer.peer_id)
                self._spawn(self._close(other))

    # ---- lifetime ------------------------------------------------------------------------
    def _on_state(self, peer: Peer) -> None:
        state = peer.pc.connectionState
        log.debug("peer %s: %s", peer.peer_id, state)
        if state in ("failed", "closed") and not peer.closing:
            self._spawn(self._close(peer))

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire_if_unconnected(self, peer: Peer) -> None:
        await asyncio.sleep(self.settings.connect_timeout_s)
        if not peer.closing and peer.pc.connectionState != "connected":
            self.peers_timed_out += 1
            log.info(
                "room %s: peer %s not connected after %.1f s (%s), closing",
                peer.room.room_id,
                peer.peer_id,
                self.settings.connect_timeout_s,
                peer.pc.connectionState,
            )
            await self._close(peer)

    def _watch_rooms(self) -> None:
        if self._room_watch is None or self._room_watch.done():
            self._room_watch = asyncio.create_task(self._close_peers_of_gone_rooms())

    async def _close_peers_of_gone_rooms(self) -> None:
        """Peers of a room are closed within one interval of its session being deleted (the room
        is gone) or, with ``close_peers_on_session_stop``, going from another state to stopped."""
        last_state = {p.room.room_id: p.room.session_state for p in self._peers.values()}
        while self._peers:
            await asyncio.sleep(self.settings.room_check_interval_s)
            for room in {p.room for p in self._peers.values()}:
                try:
                    current = self._lookup(room.room_id)
                except (RoomNotFound, NotACameraRoom):
                    current = None
                except Exception:
                    log.exception("room %s: lookup failed", room.room_id)
                    continue
                previous = last_state.get(room.room_id, room.session_state)
                if current is None or current != room:
                    reason = "is gone"
                elif (
                    self.settings.close_peers_on_session_stop
                    and current.session_state == "stopped"
                    and previous not in ("stopped", "")
                ):
                    reason = "has stopped"
                else:
                    last_state[room.room_id] = current.session_state
                    continue
                last_state.pop(room.room_id, None)
                log.info("room %s: its session %s, closing its peers", room.room_id, reason)
                await self.close_room(room.room_id)

    async def _close(self, peer: Peer) -> None:
        if peer.closing:
            return
        peer.closing = True
        self._peers.pop(peer.peer_id, None)
        if peer.timeout_task is not None and peer.timeout_task is not asyncio.current_task():
            peer.timeout_task.cancel()
        if peer.track is not None:
            peer.track.stop()  # leaves the room relay; the last viewer stops the encoder
        if peer.ingest is not None:
            await peer.ingest.close()
        with contextlib.suppress(Exception):
            await peer.pc.close()
        log.info("room %s: %s peer %s closed", peer.room.room_id, peer.direction, peer.peer_id)

    async def close_room(self, room_id: str) -> int:
        """Close every peer of a room (its session was deleted or stopped); returns how many."""
        peers = [p for p in self._peers.values() if p.room.room_id == room_id]
        await asyncio.gather(*(self._close(p) for p in peers))
        if self._relays is not None:
            self._relays.close_room(room_id)
        return len(peers)

    async def close_all(self) -> None:
        """Close every peer and stop every encoder (app shutdown)."""
        if self._room_watch is not None:
            self._room_watch.cancel()
        await asyncio.gather(
            *(self._close(p) for p in list(self._peers.values())), *self._tasks, return_exceptions=True
        )
        if self._relays is not None:
            self._relays.close_all()

    def stats(self) -> dict:
        return {
            "relays": list(self._relays.stats().values()) if self._relays is not None else [],
            "peers": [p.stats() for p in self._peers.values()],
            "ingests": [p.ingest.stats() for p in self._peers.values() if p.ingest is not None],
            "peers_timed_out": self.peers_timed_out,
        }
