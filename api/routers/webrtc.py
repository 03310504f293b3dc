"""WebRTC signalling for camera rooms: watch a room or publish a camera into it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from api.schemas.sessions import ErrorDetail
from runtime.webrtc import (
    NotACameraRoom,
    OfferError,
    RoomNotFound,
    WebRtcPeers,
    WebRtcUnavailable,
)

router = APIRouter(prefix="/webrtc", tags=["webrtc"])


class OfferRequest(BaseModel):
    sdp: str = Field(min_length=1, description="The client's SDP offer with one video section")
    type: Literal["offer"] = Field(description="Always `offer`")
    room_id: str = Field(min_length=1, description="A camera room id from `GET /sessions/{session_id}`")
    direction: Literal["recvonly", "sendonly"] = Field(
        description="The client's direction: `recvonly` watches the room, `sendonly` publishes a camera into it"
    )


class AnswerResponse(BaseModel):
    sdp: str = Field(description="The server's SDP answer, with all of its ICE candidates")
    type: Literal["answer"] = "answer"


class RelayStats(BaseModel):
    room_id: str
    topic: str
    codec: str
    viewers: int
    encoders: int = Field(description="Running encoders for the room (one, whatever the number of viewers)")
    width: int | None
    height: int | None
    frames_in: int
    frames_encoded: int
    keyframes: int
    encoder_restarts: int
    encode_errors: int
    encode_p50_ms: float | None


class PeerStats(BaseModel):
    peer_id: str
    room_id: str
    direction: str
    connection_state: str
    age_s: float
    packets_sent: int | None
    keyframes_sent: int | None
    frames_published: int | None


class IngestStats(BaseModel):
    room_id: str
    frames_published: int
    width: int | None
    height: int | None
    size_changes: int


class WebRtcStatsResponse(BaseModel):
    relays: list[RelayStats]
    peers: list[PeerStats]
    ingests: list[IngestStats]
    peers_timed_out: int


def get_peers(request: Request) -> WebRtcPeers:
    peers = getattr(request.app.state, "webrtc", None)
    if peers is None:
        raise HTTPException(status_code=503, detail="WebRTC is not enabled on this server")
    return peers


@router.post(
    "/offer",
    summary="WebRTC Offer",
    description=(
        "Exchange SDP for a camera room. `recvonly`: receive the room's images as VP8 video (all viewers of a "
        "room share one encoder). `sendonly`: publish your camera into the room, so a session can run on a "
        "remote camera; a newer publisher replaces an older one. The answer holds every ICE candidate "
        "(no trickle ICE). A peer that does not connect within the connect timeout is closed."
    ),
    responses={
        400: {"model": ErrorDetail, "description": "Not a camera room, or an unusable offer"},
        404: {"model": ErrorDetail, "description": "Unknown room"},
        503: {"model": ErrorDetail, "description": "WebRTC unavailable (no ROS 2)"},
    },
)
async def webrtc_offer(offer: OfferRequest, request: Request) -> AnswerResponse:
    peers = get_peers(request)
    try:
        answer = await peers.answer(offer.sdp, offer.type, offer.room_id, offer.direction)
    except RoomNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc
    except (NotACameraRoom, OfferError) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except WebRtcUnavailable as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return AnswerResponse(sdp=answer.sdp)


@router.get(
    "/stats",
    summary="WebRTC Stats",
    description="Room relays (encoders, viewers, frames), peers and ingests.",
    responses={503: {"model": ErrorDetail, "description": "WebRTC is not enabled"}},
)
async def webrtc_stats(request: Request) -> WebRtcStatsResponse:
    return WebRtcStatsResponse(**get_peers(request).stats())
