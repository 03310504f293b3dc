"""A viewer's video track: pre-encoded VP8 packets from its room relay, starting at a keyframe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

QUEUE_PACKETS = 30  # ~1 s at 30 fps; a viewer that falls further behind restarts from a keyframe
PLI_MIN_INTERVAL_S = 0.25  # a lossy viewer's PLI burst costs the room one keyframe, not dozens


class ViewerTrack(MediaStreamTrack):
    """Returns ``av.Packet`` s from ``recv()``; aiortc's RTCRtpSender packs them without re-encoding.

    Packets are dropped until the first keyframe (and again after an overflow). The relay
    is asked for a keyframe when the sender starts pulling, so each viewer starts with
    an image as soon as its connection is up.
    """

    kind = "video"

    def __init__(self, request_keyframe: Callable[[], None], on_stop: Callable[[ViewerTrack], None]) -> None:
        super().__init__()
        self._request_keyframe = request_keyframe
        self._on_stop = on_stop
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(QUEUE_PACKETS)
        self._waiting_for_keyframe = True
        self._pulling = False
        self._last_pli = 0.0
        self.packets_sent = 0
        self.packets_dropped = 0
        self.keyframes_sent = 0

    def push(self, packet: av.Packet) -> None:
        """Queue a packet (event loop thread)."""
        if self.readyState != "live" or (self._waiting_for_keyframe and not packet.is_keyframe):
            self.packets_dropped += 1
            return
        if self._queue.full():
            self._restart()
            return
        self._waiting_for_keyframe = False
        self._queue.put_nowait(packet)

    def _restart(self) -> None:
        dropped = self._queue.qsize()
        while not self._queue.empty():
            self._queue.get_nowait()
        self.packets_dropped += dropped + 1
        self._waiting_for_keyframe = True
        self._request_keyframe()

    def request_keyframe(self) -> None:
        """For RTCP PLI/FIR from this viewer (rate-limited)."""
        now = time.monotonic()
        if now - self._last_pli >= PLI_MIN_INTERVAL_S:
            self._last_pli = now
            self._request_keyframe()

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._pulling:
            self._pulling = True
            self._waiting_for_keyframe = True
            self._request_keyframe()
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        self.packets_sent += 1
        if packet.is_keyframe:
            self.keyframes_sent += 1
        return packet

    def stop(self) -> None:
        """End the track (wakes a pending ``recv``) and leave the relay; idempotent."""
        if self.readyState != "live":
            return
        super().stop()
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)
        self._on_stop(self)
