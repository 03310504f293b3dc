"""The operator pages: ``GET /ui`` and ``GET /ui/g1`` (HTML), ``/ui/static/*`` (JS/CSS), ``GET /ui/stream`` (SSE).

The page is plain files under ``api/static/``: no build step, no CDN, works offline.
The stream pushes every session's status and latest joint command ~10 times a second.

A server-sent events response never ends by itself, and uvicorn waits for open responses
before it shuts down (the app's lifespan shutdown only runs after that). So each stream
also ends when its uvicorn server starts shutting down: :func:`watch_uvicorn_shutdown`
wraps ``uvicorn.Server.shutdown`` to mark the server's event loop as exiting first.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from api.deps import Manager
from runtime.session import SessionEntry, SessionManager

router = APIRouter(tags=["ui"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STREAM_INTERVAL_S = 0.1
RETRY_MS = 1000
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
NO_CACHE = {"Cache-Control": "no-cache"}

_exiting_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def watch_uvicorn_shutdown() -> None:
    """Make uvicorn servers flag their loop as exiting before they wait for open responses (idempotent)."""
    try:
        from uvicorn.server import Server
    except ImportError:  # not served by uvicorn: streams end on client disconnect only
        return
    if getattr(Server.shutdown, "_runrobot_ui", False):
        return
    original = Server.shutdown

    async def shutdown(self: Any, *args: Any, **kwargs: Any) -> None:
        loop = asyncio.get_running_loop()
        _exiting_loops.add(loop)
        try:
            await original(self, *args, **kwargs)
        finally:
            _exiting_loops.discard(loop)  # the loop may serve again later

    shutdown._runrobot_ui = True  # type: ignore[attr-defined]
    Server.shutdown = shutdown  # type: ignore[method-assign]


watch_uvicorn_shutdown()


def server_exiting() -> bool:
    """True once the uvicorn server running on this event loop has begun to shut down."""
    return asyncio.get_running_loop() in _exiting_loops


def _round(values: Any, digits: int = 2) -> list[float]:
    return [round(float(v), digits) for v in values]


def session_snapshot(entry: SessionEntry, now_mono: float) -> dict[str, Any]:
    """One session's live view: status, latest command, queue and counters."""
    session = entry.session
    snap: dict[str, Any] = {
        "id": entry.record.session_id,
        "status": str(entry.state),
        "status_reason": None,
        "error_message": entry.load_error,
        "policy_path": entry.record.policy_path,
        "cameras": {name: room.room_id for name, room in entry.rooms.cameras.items()},
        "fps": None,
        "chunk_size": None,
        "joint_names": [],
        "last_command": None,
        "queue_depth": 0,
        "chunks": 0,
        "starved_ticks": 0,
        "warmup_ticks": 0,
        "stale_input_pauses": 0,
        "commands_published": 0,
        "inference_latency_p50_ms": None,
        "frames_received": {},
        "joint_states_received": 0,
    }
    if session is None:
        snap["status_reason"] = "not loaded since the server started"
        return snap
    inference = session.inference_stats()
    io = session.stats.io()
    command = session.last_command
    snap.update(
        status_reason=session.status_reason,
        error_message=session.error_message,
        fps=session.fps,
        chunk_size=session.policy.io.chunk_size,
        joint_names=list(session.normalizer.joint_names),
        queue_depth=inference["queue_depth"],
        chunks=inference["chunks"],
        starved_ticks=inference["starved_ticks"],
        warmup_ticks=inference["warmup_ticks"],
        stale_input_pauses=inference["stale_input_pauses"],
        inference_latency_p50_ms=inference["inference_latency_p50_ms"],
        commands_published=io["commands_published"],
        frames_received=io["frames_received"],
        joint_states_received=io["joint_states_received"],
    )
    if command is not None:
        snap["last_command"] = {
            "names": list(command.names),
            "positions": _round(command.positions),
            "timestep": command.timestep,
            "age_s": round(now_mono - command.timestamp, 3),
        }
    return snap


def stream_snapshot(manager: SessionManager, tick: int) -> dict[str, Any]:
    """The payload of one stream event: server time, tick number and every session."""
    now_mono = time.monotonic()
    return {
        "t": round(time.time(), 3),
        "tick": tick,
        "sessions": [session_snapshot(entry, now_mono) for entry in manager.list()],
    }


def sse_event(data: dict[str, Any], event_id: int | None = None) -> str:
    """Format ``data`` as one server-sent event (``id:`` then one ``data:`` line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"


async def session_events(
    request: Request, manager: SessionManager, interval_s: float, limit: int | None
) -> AsyncIterator[str]:
    """Yield an event every ``interval_s`` until the client leaves, the server exits or ``limit`` is hit."""
    yield f"retry: {RETRY_MS}\n\n"
    tick = 0
    next_at = time.monotonic()
    while limit is None or tick < limit:
        if server_exiting() or await request.is_disconnected():
            return
        yield sse_event(stream_snapshot(manager, tick), tick)
        tick += 1
        next_at += interval_s
        # Sleep in short slices so a disconnect or shutdown is noticed quickly.
        while (left := next_at - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))
            if server_exiting():
                return
        next_at = max(next_at, time.monotonic() - interval_s)


@router.get("/ui", include_in_schema=False)
async def operator_page() -> FileResponse:
    """The operator page."""
    return FileResponse(STATIC_DIR / "index.html", media_type=CONTENT_TYPES[".html"], headers=NO_CACHE)


@router.get("/ui/g1", include_in_schema=False)
async def g1_page() -> FileResponse:
    """The Unitree G1 operator page (polls ``GET /g1``; drives the ``/g1`` routes)."""
    return FileResponse(STATIC_DIR / "g1.html", media_type=CONTENT_TYPES[".html"], headers=NO_CACHE)


@router.get("/ui/static/{path:path}", include_in_schema=False)
async def static_file(path: str) -> FileResponse:
    """A file of the operator page (JS, CSS, icons), from the package's ``static/`` folder."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file() or target.suffix not in CONTENT_TYPES:
        raise HTTPException(status_code=404, detail=f"no static file {path!r}")
    return FileResponse(target, media_type=CONTENT_TYPES[target.suffix], headers=NO_CACHE)


@router.get("/ui/stream", include_in_schema=False)
async def stream(
    request: Request,
    manager: Manager,
    interval: float = Query(STREAM_INTERVAL_S, ge=0.05, le=10.0, description="seconds between events"),
    limit: int | None = Query(None, ge=1, description="end the stream after this many events"),
) -> StreamingResponse:
    """Server-sent events: one JSON snapshot of all sessions per tick (~10 Hz)."""
    return StreamingResponse(
        session_events(request, manager, interval, limit),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
