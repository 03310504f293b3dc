"""Training jobs: local jobs for the local worker, Video2Robot jobs proxied to the external service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.cloud.auth import CurrentIdentity, Database
from api.cloud.schemas.common import ERRORS
from api.cloud.schemas.training import (
    CreateTrainingJobRequest,
    TrainingJob,
    TrainingJobEnvelope,
    TrainingJobListEnvelope,
)
from api.cloud.training_jobs import create_job, list_jobs, public_job
from api.cloud.training_worker import run_local_job
from api.cloud.workers import CloudWorkers, get_workers

router = APIRouter(prefix="/api/training/jobs", tags=["Training"])
Workers = Annotated[CloudWorkers, Depends(get_workers)]


@router.get("", operation_id="listTrainingJobs", summary="List training jobs", responses=ERRORS(401))
def list_training_jobs(identity: CurrentIdentity, db: Database) -> TrainingJobListEnvelope:
    """Returns training jobs configured by the authenticated user. When Video2Robot is configured, this read
    also refreshes remote extract and retarget task state."""
    return TrainingJobListEnvelope(jobs=[TrainingJob(**public_job(j)) for j in list_jobs(db, identity.owner)])


@router.post(
    "",
    operation_id="createTrainingJob",
    summary="Create a training job",
    status_code=201,
    responses=ERRORS(400, 401, 503),
)
def create_training_job(
    body: CreateTrainingJobRequest, identity: CurrentIdentity, db: Database, workers: Workers, request: Request
) -> TrainingJobEnvelope:
    """Creates one training job against uploaded datasets and an optional base policy reference. For Video2Robot
    mode, RunRobot Cloud launches project creation, MP4 upload, pose extraction, and retargeting through the
    configured external service (503 when none is configured or it is unreachable)."""
    store = request.app.state.file_store
    job = create_job(db, store, identity.owner, body)
    if job["provider"] == "local":
        workers.training.submit(run_local_job, db, store, job["id"])
    return TrainingJobEnvelope(job=TrainingJob(**public_job(job)))
