"""Session API models, field for field as ``inference-server.openapi.json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CreateSessionRequest(BaseModel):
    session_id: str
    policy_path: str
    camera_names: list[str] = Field(default=["front"])
    arena_server_url: str = "http://localhost:8000"
    workspace_id: str | None = None


class CreateSessionResponse(BaseModel):
    workspace_id: str
    camera_room_ids: dict[str, str]
    joint_input_room_id: str
    joint_output_room_id: str


class SessionStatusResponse(BaseModel):
    session_id: str
    status: str
    policy_path: str
    camera_names: list[str]
    workspace_id: str
    rooms: dict[str, Any]
    stats: dict[str, Any]
    inference_stats: dict[str, Any] | None = None
    error_message: str | None = None


class ErrorDetail(BaseModel):
    """FastAPI's error shape for non-validation errors (404, 409, 400)."""

    detail: str
