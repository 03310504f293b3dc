"""Fixtures: a served sidecar with WebRTC and one session (camera "front"), a synthetic camera feed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webrtc.rtc_helpers import CONNECT_TIMEOUT_S, CameraSession, Feed, SidecarThread


@pytest.fixture
def sidecar(
    ros_domain: int, small_act_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CameraSession]:
    monkeypatch.setenv("RUNROBOT_ICE_LOOPBACK_ONLY", "1")  # every candidate is 127.0.0.1
    monkeypatch.setenv("RUNROBOT_WEBRTC_CONNECT_TIMEOUT", str(CONNECT_TIMEOUT_S))
    monkeypatch.delenv("RUNROBOT_ICE_SERVERS", raising=False)
    with SidecarThread(tmp_path / "data") as server:
        body = {"session_id": "cam_test", "policy_path": str(small_act_checkpoint), "camera_names": ["front"]}
        response = server.call("POST", "/sessions", body)
        assert response.status_code == 200, response.text
        created = response.json()
        status = server.call("GET", "/sessions/cam_test").json()
        room_id = created["camera_room_ids"]["front"]
        yield CameraSession(
            server,
            "cam_test",
            room_id,
            status["rooms"]["cameras"]["front"]["topic"],
            created["joint_input_room_id"],
        )


@pytest.fixture
def feed(sidecar: CameraSession) -> Iterator[Feed]:
    """(height, width) 240x320 frames on the session's front camera room."""
    feed = Feed(sidecar.topic, (240, 320))
    yield feed
    feed.close()
