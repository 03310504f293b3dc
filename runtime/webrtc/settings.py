"""WebRTC settings, read from the environment once when the service is built."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class WebRtcSettings:
    """
    ice_servers: RTCIceServer dicts (``urls``, ``username``, ``credential``); empty means
        host candidates only (env ``RUNROBOT_ICE_SERVERS``, a JSON list).
    connect_timeout_s: a peer not connected (ICE + DTLS) by then is closed
        (env ``RUNROBOT_WEBRTC_CONNECT_TIMEOUT``).
    loopback_only: gather only 127.0.0.1 host candidates (env ``RUNROBOT_ICE_LOOPBACK_ONLY``).
    max_fps: encoder rate cap per room.
    ingest_start_kbps / ingest_min_kbps: bitrate hints for browsers that publish video.
    room_check_interval_s: how often rooms of deleted or stopped sessions are looked for.
    close_peers_on_session_stop: a session going to stopped closes its rooms' peers (as deletion does).
    """

    ice_servers: list[dict] = field(default_factory=list)
    connect_timeout_s: float = 15.0
    loopback_only: bool = False
    max_fps: float = 30.0
    ingest_start_kbps: int = 1500
    ingest_min_kbps: int = 600
    room_check_interval_s: float = 1.0
    close_peers_on_session_stop: bool = True

    @classmethod
    def from_env(cls, **overrides) -> WebRtcSettings:
        raw = os.environ.get("RUNROBOT_ICE_SERVERS", "").strip()
        servers = json.loads(raw) if raw else []
        if not isinstance(servers, list):
            raise ValueError("RUNROBOT_ICE_SERVERS must be a JSON list of ICE server objects")
        values = {
            "ice_servers": servers,
            "connect_timeout_s": _env_float("RUNROBOT_WEBRTC_CONNECT_TIMEOUT", cls.connect_timeout_s),
            "loopback_only": _env_flag("RUNROBOT_ICE_LOOPBACK_ONLY"),
        }
        values.update(overrides)
        return cls(**values)
