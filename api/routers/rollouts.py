"""Rollouts: the caller's default policy runs and deployments, each with its event log."""

from __future__ import annotations

from fastapi import APIRouter

from api.cloud.auth import CurrentIdentity, Database
from api.cloud.deployments import list_deployments
from api.cloud.rollouts import list_rollouts
from api.cloud.schemas.common import ERRORS
from api.cloud.schemas.rollouts import Rollout, RolloutListEnvelope

router = APIRouter(prefix="/api/rollout", tags=["Rollouts"])


@router.get("", operation_id="listRollouts", summary="List rollouts", responses=ERRORS(401))
def list_rollouts_route(identity: CurrentIdentity, db: Database) -> RolloutListEnvelope:
    """Returns rollout records for the authenticated user's policy runs and deployments."""
    rollouts = list_rollouts(db, identity.owner, list_deployments(db, identity.owner))
    return RolloutListEnvelope(rollouts=[Rollout(**r) for r in rollouts])
