"""Rollout models: ``Rollout`` and ``RolloutListEnvelope``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.cloud.schemas.deployments import DeploymentRuntimeKind
from api.cloud.schemas.publish import DateTime


class Rollout(BaseModel):
    id: str = Field(examples=["rollout-default-amazon-php-parkour"])
    title: str = Field(examples=["Amazon PHP Parkour default browser run"])
    policyRef: str = Field(examples=["amazon/php-parkour"])
    route: str = Field(examples=["/amazon/php-parkour/unitree/G1/chasebrignac/parkour"])
    runtimeKind: DeploymentRuntimeKind
    source: Literal["default-run", "deployment"]
    status: Literal["ready", "idle", "failed"]
    deploymentId: str | None
    deploymentEndpointPath: str | None
    createdAt: DateTime
    updatedAt: DateTime
    errorLog: str | None
    eventLog: list[str]


class RolloutListEnvelope(BaseModel):
    rollouts: list[Rollout]
