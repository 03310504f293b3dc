"""Training models: ``TrainingJob``, its dataset runs and tasks, modes, providers and statuses."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from api.cloud.schemas.datasets import DatasetRecordKind
from api.cloud.schemas.publish import DateTime, Uri


class TrainingMode(StrEnum):
    egocentric_manipulation = "egocentric_manipulation"
    video2robot = "video2robot"


class TrainingProvider(StrEnum):
    local = "local"
    video2robot = "video2robot"


class TrainingStatus(StrEnum):
    configured = "configured"
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class TrainingTask(BaseModel):
    taskId: str | None
    status: Literal["not_started", "pending", "running", "completed", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str
    error: str | None
    startedAt: DateTime | None
    completedAt: DateTime | None


class TrainingDatasetRun(BaseModel):
    datasetId: str = Field(examples=["data_123"])
    datasetTitle: str = Field(examples=["Apartment tabletop demos"])
    datasetKind: DatasetRecordKind
    fileName: str = Field(examples=["demo-clip.mp4"])
    projectName: str = Field(examples=["chasebrignac-train_123-data_123"])
    uploadStatus: Literal["pending", "uploaded", "failed"]
    uploadError: str | None
    extract: TrainingTask
    retarget: TrainingTask
    motionUrl: Uri | None
    updatedAt: DateTime


class TrainingJob(BaseModel):
    id: str = Field(examples=["train_123"])
    owner: str = Field(examples=["chasebrignac"])
    title: str = Field(examples=["Apartment pick-and-place finetune"])
    mode: TrainingMode
    datasetIds: list[str]
    basePolicyRef: str | None
    provider: TrainingProvider
    status: TrainingStatus
    notes: str
    lastError: str | None
    remoteBaseUrl: Uri | None
    runs: list[TrainingDatasetRun]
    createdAt: DateTime
    updatedAt: DateTime
    completedAt: DateTime | None


class TrainingJobEnvelope(BaseModel):
    job: TrainingJob


class TrainingJobListEnvelope(BaseModel):
    jobs: list[TrainingJob]


class CreateTrainingJobRequest(BaseModel):
    title: str
    mode: TrainingMode
    datasetIds: list[str]
    basePolicyRef: str | None = None
    notes: str = ""
