"""Session control: create, list, inspect, start, stop, restart, delete."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException

from api.deps import Manager
from api.schemas.sessions import (
    CreateSessionRequest,
    CreateSessionResponse,
    ErrorDetail,
    SessionStatusResponse,
)
from runtime.session import (
    SessionConfigError,
    SessionEntry,
    SessionExists,
    SessionNotFound,
)
from runtime.session.state import InvalidTransition

router = APIRouter()

NOT_FOUND = {404: {"model": ErrorDetail, "description": "Unknown session"}}
NOT_STARTABLE = {
    **NOT_FOUND,
    400: {"model": ErrorDetail, "description": "The session cannot start (policy no longer loads, bad state)"},
}


def session_status(entry: SessionEntry) -> SessionStatusResponse:
    session = entry.session
    return SessionStatusResponse(
        session_id=entry.record.session_id,
        status=str(entry.state),
        policy_path=entry.record.policy_path,
        camera_names=entry.record.camera_names,
        workspace_id=entry.record.workspace_id,
        rooms=entry.rooms.as_dict(),
        stats=session.io_stats() if session else {"status_reason": "not loaded since the server started"},
        inference_stats=session.inference_stats() if session else None,
        error_message=(session.error_message if session else entry.load_error),
    )


async def _call(fn, *args) -> Any:
    """Run a manager call off the event loop and map its errors to HTTP errors."""
    try:
        return await asyncio.to_thread(fn, *args)
    except SessionNotFound as exc:
        raise HTTPException(status_code=404, detail=exc.args[0]) from exc
    except SessionExists as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except (SessionConfigError, InvalidTransition) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.get("/sessions", tags=["Sessions"], summary="List Sessions", description="List all sessions.")
async def list_sessions(manager: Manager) -> list[SessionStatusResponse]:
    return [session_status(e) for e in manager.list()]


@router.post(
    "/sessions",
    tags=["Sessions"],
    summary="Create Session",
    description=(
        "Create a new inference session.\n\nIf workspace_id is provided, all rooms will be created in that "
        "workspace.\nIf workspace_id is not provided, a new workspace will be generated automatically.\nAll rooms "
        "for a session (cameras + joints) are always created in the same workspace."
    ),
    responses={
        400: {"model": ErrorDetail, "description": "The policy does not load or does not fit the request"},
        409: {"model": ErrorDetail, "description": "Duplicate session_id"},
    },
)
async def create_session(request: CreateSessionRequest, manager: Manager) -> CreateSessionResponse:
    entry: SessionEntry = await _call(
        manager.create,
        request.session_id,
        request.policy_path,
        request.camera_names,
        request.workspace_id,
        request.arena_server_url,
    )
    rooms = entry.rooms
    return CreateSessionResponse(
        workspace_id=rooms.workspace_id,
        camera_room_ids={cam: room.room_id for cam, room in rooms.cameras.items()},
        joint_input_room_id=rooms.joint_input.room_id,
        joint_output_room_id=rooms.joint_output.room_id,
    )


@router.get(
    "/sessions/{session_id}",
    tags=["Sessions"],
    summary="Get Session Status",
    description="Get status of a specific session.",
    responses=NOT_FOUND,
)
async def get_session_status(session_id: str, manager: Manager) -> SessionStatusResponse:
    return session_status(await _call(manager.get, session_id))


@router.delete("/sessions/{session_id}", summary="Delete Session", description="Delete a session.", responses=NOT_FOUND)
async def delete_session(session_id: str, manager: Manager) -> Any:
    return {"message": await _call(manager.delete, session_id)}


@router.post(
    "/sessions/{session_id}/start",
    tags=["Control"],
    summary="Start Inference",
    description="Start inference for a session.",
    responses=NOT_STARTABLE,
)
async def start_inference(session_id: str, manager: Manager) -> Any:
    return {"message": await _call(manager.start, session_id)}


@router.post(
    "/sessions/{session_id}/stop",
    tags=["Control"],
    summary="Stop Inference",
    description="Stop inference for a session.",
    responses=NOT_FOUND,
)
async def stop_inference(session_id: str, manager: Manager) -> Any:
    return {"message": await _call(manager.stop, session_id)}


@router.post(
    "/sessions/{session_id}/restart",
    tags=["Control"],
    summary="Restart Inference",
    description="Restart inference for a session.",
    responses=NOT_STARTABLE,
)
async def restart_inference(session_id: str, manager: Manager) -> Any:
    return {"message": await _call(manager.restart, session_id)}
