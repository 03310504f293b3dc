"""Debug endpoints: system info, recent logs, session reset, queue contents."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from typing import Any

import psutil
from fastapi import APIRouter, Request

from api.deps import Manager
from api.routers.sessions import NOT_FOUND, _call

router = APIRouter(prefix="/debug", tags=["Debug"])

LOG_LIMIT = 500


@router.get("/system", summary="Get System Info", description="Get system information for debugging.")
def get_system_info(request: Request) -> Any:
    import torch

    data_dir = request.app.state.data_dir
    disk = shutil.disk_usage(data_dir)
    mem = psutil.virtual_memory()
    proc = psutil.Process()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": {
            "count": psutil.cpu_count(),
            "percent": psutil.cpu_percent(interval=None),
            "load_avg": list(os.getloadavg()),
        },
        "memory": {"total_mb": mem.total // 2**20, "available_mb": mem.available // 2**20, "percent": mem.percent},
        "disk": {"path": str(data_dir), "total_gb": round(disk.total / 1e9, 2), "free_gb": round(disk.free / 1e9, 2)},
        "process": {"pid": proc.pid, "rss_mb": proc.memory_info().rss // 2**20, "threads": proc.num_threads()},
        "torch": {
            "version": torch.__version__,
            "threads": torch.get_num_threads(),
            "cuda_available": torch.cuda.is_available(),
            "mps_available": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
        },
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "ros": {
            "domain_id": int(os.environ.get("ROS_DOMAIN_ID", "0") or 0),
            "rmw_implementation": os.environ.get("RMW_IMPLEMENTATION"),
            "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE"),
            "discovery_range": os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE"),
        },
    }


@router.get("/logs", summary="Get Recent Logs", description="Get recent log entries for debugging.")
def get_recent_logs(request: Request) -> Any:
    records = request.app.state.log_buffer.recent(LOG_LIMIT)
    return {"logs": records, "count": len(records), "capacity": request.app.state.log_buffer.capacity}


@router.post(
    "/sessions/{session_id}/reset",
    summary="Debug Reset Session",
    description="Reset a session's internal state for debugging.",
    responses=NOT_FOUND,
)
async def debug_reset_session(session_id: str, manager: Manager) -> Any:
    return {"message": await _call(manager.reset, session_id)}


@router.get(
    "/sessions/{session_id}/queue",
    summary="Get Session Queue Info",
    description="Get detailed information about a session's action queue.",
    responses=NOT_FOUND,
)
async def get_session_queue_info(session_id: str, manager: Manager) -> Any:
    entry = await _call(manager.get, session_id)
    if entry.session is None:
        return {"session_id": session_id, "status": str(entry.state), "queue": None, "loaded": False}
    return {**entry.session.queue_info(), "loaded": True}
