"""Build the sidecar's WebRTC peers from its session manager and ROS 2 node."""

from __future__ import annotations

from typing import Any

from runtime.webrtc.peers import CameraRoom, NotACameraRoom, RoomLookup, RoomNotFound, WebRtcPeers
from runtime.webrtc.settings import WebRtcSettings


def camera_room_lookup(manager: Any) -> RoomLookup:
    """Resolve room ids with ``SessionManager.find_room``."""

    def lookup(room_id: str) -> CameraRoom:
        found = manager.find_room(room_id)
        if found is None:
            raise RoomNotFound(f"room {room_id!r} not found")
        entry, kind, camera = found
        if kind != "camera":
            raise NotACameraRoom(f"room {room_id!r} is a {kind} room, not a camera room")
        return CameraRoom(room_id, entry.rooms.cameras[camera].topic, str(entry.state))

    return lookup


def create_webrtc_peers(manager: Any, ros_node: Any | None, settings: WebRtcSettings | None = None) -> WebRtcPeers:
    """WebRTC over the rooms of ``manager``; frames move on ``ros_node`` (None: offers get 503)."""
    frames = None
    if ros_node is not None:
        from runtime.ros.room_frames import RoomFrames

        frames = RoomFrames(ros_node)
    return WebRtcPeers(camera_room_lookup(manager), frames, frames, settings)
