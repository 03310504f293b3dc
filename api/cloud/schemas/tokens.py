"""Token models: ``ApiToken``, ``CreatedApiToken`` and the revoke responses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ApiToken(BaseModel):
    id: str
    owner: str
    name: str
    prefix: str
    createdAt: str
    lastUsedAt: str | None
    revokedAt: str | None


class CreatedApiToken(ApiToken):
    token: str


class CreateApiTokenRequest(BaseModel):
    name: str = Field(examples=["MacBook Pro"])


class RevokeAllApiTokensResponse(BaseModel):
    ok: Literal[True]
    revokedCount: int = Field(ge=0)


class RevokeApiTokenResponse(BaseModel):
    ok: Literal[True]
