"""Deployments: list the caller's, create one from an owned or public policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.cloud.auth import CurrentIdentity, Database
from api.cloud.deployments import check_deployment, create_deployment, list_deployments
from api.cloud.schemas.common import ERRORS
from api.cloud.schemas.deployments import (
    CreateDeploymentRequest,
    Deployment,
    DeploymentEnvelope,
    DeploymentListResponse,
)
from api.cloud.workers import CloudWorkers, get_workers

router = APIRouter(prefix="/api/deployments", tags=["Deployments"])
Workers = Annotated[CloudWorkers, Depends(get_workers)]


@router.get("", operation_id="listDeployments", summary="List deployments", responses=ERRORS(401))
def list_deployments_route(identity: CurrentIdentity, db: Database) -> DeploymentListResponse:
    """Returns the authenticated user's policy deployments."""
    return DeploymentListResponse(deployments=[Deployment(**d) for d in list_deployments(db, identity.owner)])


@router.post(
    "", operation_id="createDeployment", summary="Create a deployment", status_code=201, responses=ERRORS(400, 401)
)
def create_deployment_route(
    body: CreateDeploymentRequest, identity: CurrentIdentity, db: Database, workers: Workers, request: Request
) -> DeploymentEnvelope:
    """Creates one dedicated policy deployment from an owned or public policy reference.

    The deployment starts ``starting``; a background check loads the policy's ONNX model on this
    machine and moves it to ``idle`` (or ``failed`` with ``lastError``). Runtime kinds that need a
    hosted GPU backend this machine lacks are ``failed`` from the start.
    """
    deployment = create_deployment(db, identity.owner, body)
    if deployment["status"] == "starting":
        workers.jobs.submit(check_deployment, db, request.app.state.file_store, deployment["id"])
    return DeploymentEnvelope(deployment=Deployment(**deployment))
