"""Deployment models: ``Deployment``, its envelopes, ``DeploymentRuntimeKind`` and ``DeploymentStatus``."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from api.cloud.schemas.publish import DateTime


class DeploymentRuntimeKind(StrEnum):
    browser_mujoco_onnx = "browser.mujoco.onnx"
    instance_mujoco_onnx = "instance.mujoco.onnx"
    instance_mujoco_sonic = "instance.mujoco.sonic"
    instance_vlm_gemma = "instance.vlm.gemma"
    instance_vlm_wilddet3d = "instance.vlm.wilddet3d"
    instance_worldmodel_cosmos = "instance.worldmodel.cosmos"
    instance_worldrecon_hyworld = "instance.worldrecon.hyworld"
    instance_worldplay_hyworld = "instance.worldplay.hyworld"
    instance_vla_pi0 = "instance.vla.pi0"
    native_robot_lowcmd = "native.robot.lowcmd"


class DeploymentStatus(StrEnum):
    starting = "starting"
    idle = "idle"
    processing = "processing"
    failed = "failed"


class Deployment(BaseModel):
    id: str = Field(examples=["deploy_123"])
    owner: str = Field(examples=["chasebrignac"])
    title: str = Field(examples=["My G1 browser deployment"])
    policyRef: str = Field(examples=["amazon/php-parkour"])
    runtimeKind: DeploymentRuntimeKind
    minInstances: int = Field(ge=0)
    maxInstances: int = Field(ge=1)
    scaleToZero: bool
    alwaysOn: bool
    hardwareSku: str | None = Field(default=None, examples=["gpu-h100"])
    idleScaleDownSeconds: int | None = Field(default=None, ge=0, examples=[1800])
    currentInstances: int | None = Field(default=None, ge=0, examples=[0])
    lastActiveAt: DateTime | None = None
    endpointPath: str = Field(examples=["/deployments/chasebrignac/my-g1-browser-deployment"])
    status: DeploymentStatus
    lastError: str | None
    createdAt: DateTime
    updatedAt: DateTime


class DeploymentEnvelope(BaseModel):
    deployment: Deployment


class DeploymentListResponse(BaseModel):
    deployments: list[Deployment]


class CreateDeploymentRequest(BaseModel):
    title: str
    policyRef: str = Field(examples=["amazon/php-parkour"])
    runtimeKind: DeploymentRuntimeKind
    minInstances: int = Field(default=0, ge=0)
    maxInstances: int = Field(default=1, ge=1)
    scaleToZero: bool = True
    alwaysOn: bool = False
    hardwareSku: str | None = None
    idleScaleDownSeconds: int | None = Field(default=None, ge=0)
