"""Ingest: a client's video track, decoded by aiortc, published into a camera room as RGB frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from runtime.webrtc.frames import FramePublisher

log = logging.getLogger(__name__)


class RoomIngest:
    """Publishes every frame of a remote track to a room; any size, changes included."""

    def __init__(self, room_id: str, publisher: FramePublisher) -> None:
        self.room_id = room_id
        self._publisher = publisher
        self._task: asyncio.Task | None = None
        self.frames_published = 0
        self.size: tuple[int, int] | None = None
        self.size_changes = 0

    def start(self, track: MediaStreamTrack) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._consume(track), name=f"ingest-{self.room_id}")

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                size = (frame.width, frame.height)
                if size != self.size:
                    if self.size is not None:
                        self.size_changes += 1
                    log.info("room %s: ingest %dx%d", self.room_id, *size)
                    self.size = size
                # Colour conversion and the ROS publish copy ~1 MB per VGA frame: keep them off the loop.
                await asyncio.to_thread(self._publish, frame)
        except MediaStreamError:
            pass  # the peer's track ended
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("room %s: ingest stopped", self.room_id)

    def _publish(self, frame) -> None:
        self._publisher.publish(frame.to_ndarray(format="rgb24"))
        self.frames_published += 1

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._publisher.close()

    def stats(self) -> dict:
        return {
            "room_id": self.room_id,
            "frames_published": self.frames_published,
            "width": self.size[0] if self.size else None,
            "height": self.size[1] if self.size else None,
            "size_changes": self.size_changes,
        }
