"""Arena: launch a matchup, read it, send controls to a pane, vote."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.cloud import arena
from api.cloud.auth import Database, MaybeIdentity
from api.cloud.schemas.arena import (
    ArenaControlEnvelope,
    ArenaControlRequest,
    ArenaMatchup,
    ArenaMatchupEnvelope,
    ArenaVoteRequest,
)
from api.cloud.schemas.common import ERRORS

router = APIRouter(prefix="/api/arena", tags=["Arena"])


@router.post(
    "/launch",
    operation_id="createArenaMatchup",
    summary="Launch an arena matchup",
    status_code=201,
    responses=ERRORS(400),
)
def create_arena_matchup(db: Database) -> ArenaMatchupEnvelope:
    """Creates one matchup from two different active policies. Live browser runs are not started yet: the
    matchup stays ``queued`` and each participant's ``browserUrl`` is null."""
    return ArenaMatchupEnvelope(matchup=ArenaMatchup(**arena.launch_matchup(db)))


@router.get(
    "/matchup/{matchupId}", operation_id="getArenaMatchup", summary="Read an arena matchup", responses=ERRORS(404)
)
def get_arena_matchup(matchupId: str, db: Database) -> ArenaMatchupEnvelope:  # noqa: N803
    return ArenaMatchupEnvelope(matchup=ArenaMatchup(**arena.get_matchup(db, matchupId)))


@router.post(
    "/control", operation_id="controlArenaMatchup", summary="Dispatch a control event", responses=ERRORS(400, 404)
)
def control_arena_matchup(body: ArenaControlRequest, db: Database) -> ArenaControlEnvelope:
    """Sends one semantic control event into one matchup pane (as a ``browser-postmessage`` dispatch)."""
    matchup = arena.get_matchup(db, body.matchupId)
    dispatches = arena.control_dispatches(matchup, body.side, body.action)
    return ArenaControlEnvelope(ok=True, dispatches=dispatches, matchup=ArenaMatchup(**matchup))


@router.post("/vote", operation_id="voteArenaMatchup", summary="Record an arena vote", responses=ERRORS(400))
def vote_arena_matchup(
    body: ArenaVoteRequest, db: Database, identity: MaybeIdentity, request: Request
) -> ArenaMatchupEnvelope:
    """Records one vote for left, right, both_good, or both_bad. Auth is optional; when absent, duplicate
    suppression falls back to IP and user-agent."""
    ip = request.client.host if request.client else ""
    voter = arena.voter_key(identity.owner if identity else None, ip, request.headers.get("user-agent", ""))
    return ArenaMatchupEnvelope(matchup=ArenaMatchup(**arena.record_vote(db, body.matchupId, body.winner, voter)))
