"""Publishing models: ``SceneManifest``, ``RobotManifest``, ``PolicyManifest`` and their envelopes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

Uri = Annotated[str, Field(json_schema_extra={"format": "uri"})]
UriReference = Annotated[str, Field(json_schema_extra={"format": "uri-reference"})]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class SceneMode(StrEnum):
    benchmark_scene = "benchmark_scene"
    visual_overlay = "visual_overlay"


class RuntimeAdapter(StrEnum):
    onnx_metadata_v1 = "onnx_metadata_v1"
    unitree_velocity_g1_v0 = "unitree_velocity_g1_v0"


class PublishStatus(StrEnum):
    draft = "draft"
    processing = "processing"
    active = "active"
    failed = "failed"


class SceneTransform(BaseModel):
    position: list[float] = Field(min_length=3, max_length=3, examples=[[0, 0, 0]])
    quaternion: list[float] = Field(min_length=4, max_length=4, examples=[[0, 0, 0, 1]])
    scale: list[float] = Field(min_length=3, max_length=3, examples=[[1, 1, 1]])


class SceneManifest(BaseModel):
    kind: Literal["scene"]
    owner: str = Field(examples=["chasebrignac"])
    slugPath: str = Field(examples=["parkour"])
    title: str = Field(examples=["Classic Parkour"])
    description: str
    mode: SceneMode
    benchmarkSceneRef: str = Field(examples=["chasebrignac/parkour"])
    glbUrl: Uri | None
    previewUrl: Uri | None
    transform: SceneTransform
    status: PublishStatus
    createdAt: DateTime
    updatedAt: DateTime


class SceneEnvelope(BaseModel):
    manifest: SceneManifest


class RobotManifest(BaseModel):
    kind: Literal["robot"]
    owner: str = Field(examples=["unitree"])
    slugPath: str = Field(examples=["g1"])
    title: str = Field(examples=["Unitree G1"])
    description: str
    robotKey: str = Field(examples=["unitree/g1"])
    baseSceneUrl: UriReference
    entryXmlPath: str = Field(examples=["g1_with_terrain.xml"])
    previewUrl: Uri | None
    status: PublishStatus
    createdAt: DateTime
    updatedAt: DateTime


class RobotEnvelope(BaseModel):
    manifest: RobotManifest


class PolicyManifest(BaseModel):
    kind: Literal["policy"]
    owner: str = Field(examples=["amazon"])
    slugPath: str = Field(examples=["php-parkour"])
    title: str = Field(examples=["Amazon PHP Parkour"])
    description: str
    runtimeAdapter: RuntimeAdapter
    modelUrl: UriReference
    depthModelUrl: Uri | None
    controlDt: float = Field(examples=[0.02])
    metadataConfig: dict[str, Any] | None
    unitreeVelocityConfig: dict[str, Any] | None
    defaultRobotRef: str | None
    defaultSceneRef: str | None
    status: PublishStatus
    createdAt: DateTime
    updatedAt: DateTime


class PolicyEnvelope(BaseModel):
    manifest: PolicyManifest
