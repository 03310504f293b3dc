"""SceneGen models: ``PublicSceneJob``, ``SceneBox``, job status and phase (``SceneTransform`` is publishing's)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from api.cloud.schemas.publish import DateTime, SceneTransform, Uri, UriReference


class SceneJobStatus(StrEnum):
    queued = "queued"
    running = "running"
    ready = "ready"
    failed = "failed"


class SceneJobPhase(StrEnum):
    queued = "queued"
    segmenting = "segmenting"
    generating_scene = "generating_scene"
    publishing = "publishing"
    ready = "ready"
    failed = "failed"


class SceneBox(BaseModel):
    """A box in normalized image coordinates: ``x``/``y`` top-left, all values in 0..1."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    width: float = Field(ge=0, le=1)
    height: float = Field(ge=0, le=1)


class PublicSceneJob(BaseModel):
    id: str = Field(examples=["scenejob_123"])
    owner: str = Field(examples=["chasebrignac"])
    slugPath: str = Field(examples=["my-generated-scene"])
    title: str
    description: str
    benchmarkSceneRef: str
    sourceImageUrl: UriReference
    previewUrl: Uri | None
    sceneUrl: Uri | None
    sceneHref: str = Field(examples=["/chasebrignac/my-generated-scene"])
    status: SceneJobStatus
    phase: SceneJobPhase
    transform: SceneTransform
    boxes: list[SceneBox]
    error: str | None
    createdAt: DateTime
    updatedAt: DateTime


class SceneJobEnvelope(BaseModel):
    job: PublicSceneJob
