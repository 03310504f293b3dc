"""The public leaderboard: aggregate arena standings only."""

from __future__ import annotations

from fastapi import APIRouter

from api.cloud.auth import Database
from api.cloud.leaderboard import leaderboard
from api.cloud.schemas.arena import Leaderboard

router = APIRouter(prefix="/v1/leaderboard", tags=["Leaderboard"])


@router.get("", operation_id="getLeaderboard", summary="Read the public leaderboard")
def get_leaderboard(db: Database) -> Leaderboard:
    """Bradley–Terry ratings (1500-anchored, 400-point scale) with 95% bootstrap intervals; no votes exposed."""
    return Leaderboard(**leaderboard(db))
