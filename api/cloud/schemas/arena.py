"""Arena and leaderboard models: matchups, control dispatches, votes and standings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.cloud.schemas.publish import DateTime, Uri

Side = Literal["left", "right"]
ControlAction = Literal[
    "forward-press",
    "forward-release",
    "backward-press",
    "backward-release",
    "left-press",
    "left-release",
    "right-press",
    "right-release",
    "reset",
]
VoteWinner = Literal["left", "right", "both_good", "both_bad"]


class ArenaParticipant(BaseModel):
    title: str
    policyRef: str = Field(examples=["amazon/php-parkour"])
    simulationId: str = Field(examples=["sim_123"])
    browserUrl: Uri | None


class ArenaMatchup(BaseModel):
    id: str = Field(examples=["matchup_123"])
    status: Literal["queued", "starting", "ready", "failed"]
    voteUnlockAt: DateTime | None
    left: ArenaParticipant
    right: ArenaParticipant


class ArenaMatchupEnvelope(BaseModel):
    matchup: ArenaMatchup


class ArenaControlRequest(BaseModel):
    matchupId: str = Field(examples=["matchup_123"])
    side: Side
    action: ControlAction


class ArenaControlDispatch(BaseModel):
    side: Side
    transport: Literal["browser-postmessage"]
    payload: dict[str, Any]


class ArenaControlEnvelope(BaseModel):
    ok: Literal[True]
    dispatches: list[ArenaControlDispatch]
    matchup: ArenaMatchup


class ArenaVoteRequest(BaseModel):
    matchupId: str = Field(examples=["matchup_123"])
    winner: VoteWinner


class LeaderboardEntry(BaseModel):
    policy_ref: str = Field(examples=["amazon/php-parkour"])
    title: str = Field(examples=["Amazon PHP Parkour"])
    rating: float = Field(examples=[1500])
    wins: float = Field(examples=[12])
    losses: float = Field(examples=[4])
    ties: int = Field(examples=[1])
    counted_votes: int = Field(examples=[17])
    confidence_low: float | None
    confidence_high: float | None


class Leaderboard(BaseModel):
    updated_at: DateTime | None
    winner: str | None
    entries: list[LeaderboardEntry]
