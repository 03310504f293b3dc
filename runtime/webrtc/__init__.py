"""WebRTC for camera rooms: viewers share one VP8 encoder per room; clients can publish cameras."""

from runtime.webrtc.frames import FramePublisher, FrameSink, FrameSource
from runtime.webrtc.peers import CameraRoom, NotACameraRoom, RoomNotFound, WebRtcPeers, WebRtcUnavailable
from runtime.webrtc.sdp import OfferError
from runtime.webrtc.service import create_webrtc_peers
from runtime.webrtc.settings import WebRtcSettings

__all__ = [
    "CameraRoom",
    "FramePublisher",
    "FrameSink",
    "FrameSource",
    "NotACameraRoom",
    "OfferError",
    "RoomNotFound",
    "WebRtcPeers",
    "WebRtcSettings",
    "WebRtcUnavailable",
    "create_webrtc_peers",
]
