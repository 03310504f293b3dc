"""One VP8 encoder per camera room, shared by all of the room's viewers.

The room's frames arrive on the transport's thread and only replace the latest frame.
The relay's encoder thread encodes the latest frame at up to ``max_fps`` and hands each
packet to the event loop, which fans it out to every viewer track. Keyframes are forced
when a viewer starts (or asks by PLI/FIR) and after a resolution change, which
recreates the encoder. The relay subscribes to the room with its first viewer and
unsubscribes, ending its thread, when the last one leaves.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import av
import numpy as np

from runtime.rolling_stats import RollingStats
from runtime.webrtc.frames import FrameSource, Unsubscribe
from runtime.webrtc.viewer_track import ViewerTrack
from runtime.webrtc.vp8 import Vp8Encoder

log = logging.getLogger(__name__)

CODEC = "VP8"
BURST_FRAMES = 3.0  # frames the rate limit lets through back to back (jitter from the transport)
RATE_HEADROOM = 1.05  # so a camera at exactly max_fps, with jitter, is never held back


class RoomRelay:
    """Encodes one room's latest frame once and fans the packets out to its viewers."""

    def __init__(
        self,
        room_id: str,
        topic: str,
        source: FrameSource,
        loop: asyncio.AbstractEventLoop,
        max_fps: float = 30.0,
        on_idle: Callable[[RoomRelay], None] | None = None,
    ) -> None:
        self.room_id = room_id
        self.topic = topic
        self._source = source
        self._loop = loop
        self._rate = max_fps * RATE_HEADROOM
        self._max_fps = max_fps
        self._on_idle = on_idle
        self._viewers: list[ViewerTrack] = []
        self._cond = threading.Condition()
        self._latest: np.ndarray | None = None
        self._fresh = False
        self._keyframe_requested = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._unsubscribe: Unsubscribe | None = None
        self.size: tuple[int, int] | None = None  # (width, height) being encoded
        self.frames_in = 0
        self.frames_encoded = 0
        self.keyframes = 0
        self.encoder_restarts = 0
        self.encode_errors = 0
        self.encode_time = RollingStats(300)

    # ---- viewers (event loop thread) -----------------------------------------------------
    @property
    def viewers(self) -> int:
        return len(self._viewers)

    @property
    def encoding(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_viewer(self) -> ViewerTrack:
        track = ViewerTrack(self.request_keyframe, self._remove_viewer)
        self._viewers.append(track)
        if self._thread is None:
            self._start()
        return track

    def _remove_viewer(self, track: ViewerTrack) -> None:
        if track in self._viewers:
            self._viewers.remove(track)
        if not self._viewers:
            self.stop()

    def close(self) -> None:
        """End every viewer track (their peers see the track end) and stop."""
        for track in list(self._viewers):
            track.stop()
        self.stop()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"relay-{self.room_id}", daemon=True)
        self._thread.start()
        self._unsubscribe = self._source.subscribe(self.topic, self.on_frame)
        log.info("room %s: encoder started (%s)", self.room_id, self.topic)

    def stop(self) -> None:
        """Unsubscribe and end the encoder thread (without waiting for it); idempotent."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        log.info("room %s: encoder stopped after %d frames", self.room_id, self.frames_encoded)
        if self._on_idle is not None:
            self._on_idle(self)

    def join(self, timeout: float = 1.0) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # ---- frames in (transport thread) ----------------------------------------------------
    def on_frame(self, rgb: np.ndarray) -> None:
        with self._cond:
            self._latest = rgb
            self._fresh = True
            self.frames_in += 1
            self._cond.notify()

    def request_keyframe(self) -> None:
        with self._cond:
            self._keyframe_requested = True
            self._cond.notify()

    # ---- encoder thread ------------------------------------------------------------------
    def _has_work(self) -> bool:
        return self._stopping or self._fresh or (self._keyframe_requested and self._latest is not None)

    def _run(self) -> None:
        encoder: Vp8Encoder | None = None
        t0 = last_refill = time.monotonic()
        tokens = BURST_FRAMES
        last_pts = -1
        while True:
            with self._cond:
                self._cond.wait_for(self._has_work)
                if self._stopping:
                    break
                # Token bucket: at most ~max_fps on average, short bursts allowed, no memory of old lateness.
                now = time.monotonic()
                tokens = min(BURST_FRAMES, tokens + (now - last_refill) * self._rate)
                last_refill = now
                if tokens < 1 and self._cond.wait_for(lambda: self._stopping, timeout=(1 - tokens) / self._rate):
                    break
                rgb, keyframe = self._latest, self._keyframe_requested
                self._fresh = self._keyframe_requested = False
            now = time.monotonic()
            tokens = min(BURST_FRAMES, tokens + (now - last_refill) * self._rate) - 1
            last_refill = now
            try:
                height, width = rgb.shape[:2]
                if encoder is None or (encoder.width, encoder.height) != (width, height):
                    if encoder is not None:
                        self.encoder_restarts += 1
                        log.info("room %s: resolution %dx%d, new encoder", self.room_id, width, height)
                    encoder = Vp8Encoder(width, height, self._max_fps)
                    self.size = (width, height)
                    keyframe = True
                last_pts = max(int((now - t0) * 90000), last_pts + 1)
                packets = encoder.encode(rgb, last_pts, keyframe)
            except Exception as exc:  # a bad frame must not end the room's stream
                self.encode_errors += 1
                encoder = None
                if self.encode_errors <= 3:
                    log.warning("room %s: cannot encode frame: %s", self.room_id, exc)
                continue
            self.encode_time.add(time.monotonic() - now)
            self.frames_encoded += 1
            for packet in packets:
                self.keyframes += bool(packet.is_keyframe)
                try:
                    self._loop.call_soon_threadsafe(self._fan_out, packet)
                except RuntimeError:  # event loop closed: the app is exiting
                    return

    def _fan_out(self, packet: av.Packet) -> None:
        for track in list(self._viewers):
            track.push(packet)

    def stats(self) -> dict:
        return {
            "room_id": self.room_id,
            "topic": self.topic,
            "codec": CODEC,
            "viewers": self.viewers,
            "encoders": int(self.encoding),
            "width": self.size[0] if self.size else None,
            "height": self.size[1] if self.size else None,
            "frames_in": self.frames_in,
            "frames_encoded": self.frames_encoded,
            "keyframes": self.keyframes,
            "encoder_restarts": self.encoder_restarts,
            "encode_errors": self.encode_errors,
            "encode_p50_ms": self.encode_time.summary_ms()["p50_ms"],
        }


class RoomRelays:
    """The live relays, one per room (and codec: VP8 only)."""

    def __init__(self, source: FrameSource, max_fps: float = 30.0) -> None:
        self._source = source
        self._max_fps = max_fps
        self._relays: dict[str, RoomRelay] = {}

    def add_viewer(self, room_id: str, topic: str) -> ViewerTrack:
        """A new viewer track of ``room_id``; starts the room's encoder if it is the first."""
        relay = self._relays.get(room_id)
        if relay is None:
            relay = RoomRelay(room_id, topic, self._source, asyncio.get_running_loop(), self._max_fps, self._forget)
            self._relays[room_id] = relay
        return relay.add_viewer()

    def _forget(self, relay: RoomRelay) -> None:
        if self._relays.get(relay.room_id) is relay:
            del self._relays[relay.room_id]

    def close_room(self, room_id: str) -> None:
        relay = self._relays.get(room_id)
        if relay is not None:
            relay.close()

    def close_all(self) -> None:
        relays = list(self._relays.values())
        for relay in relays:
            relay.close()
        for relay in relays:
            relay.join()

    def stats(self) -> dict[str, dict]:
        return {room_id: relay.stats() for room_id, relay in self._relays.items()}
