"""``GET /`` and ``GET /health``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from api.deps import Manager
from runtime.session import SessionState

router = APIRouter(tags=["Health"])


@router.get("/", summary="Root", description="Health check endpoint.")
def root(request: Request, manager: Manager) -> Any:
    return {
        "status": "ok",
        "service": "runrobot sidecar",
        "version": request.app.version,
        "sessions": len(manager.list()),
        "docs": "/docs",
    }


@router.get("/health", summary="Health Check", description="Detailed health check.")
def health_check(request: Request, manager: Manager) -> Any:
    entries = manager.list()
    ros = request.app.state.ros_node
    return {
        "status": "healthy",
        "uptime_s": round(time.time() - request.app.state.started_at, 3),
        "sessions": {
            "total": len(entries),
            "running": sum(1 for e in entries if e.state == SessionState.RUNNING),
            "by_status": {s: sum(1 for e in entries if e.state == s) for s in {str(e.state) for e in entries}},
        },
        "ros": {"enabled": ros is not None, "node": ros.get_fully_qualified_name() if ros else None},
        "data_dir": str(request.app.state.data_dir),
    }
