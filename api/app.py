"""Build the sidecar app: session manager, ROS 2 node on a background executor, routers."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from api.cloud.db import CloudDB
from api.cloud.errors import install_cloud_error_handlers
from api.cloud.storage import FileStore
from api.cloud.workers import CloudWorkers
from api.log_buffer import install_log_buffer
from api.routers import (
    arena,
    datasets,
    debug,
    deployments,
    files,
    g1,
    health,
    leaderboard,
    publish,
    rollouts,
    scenegen,
    sessions,
    tokens,
    training,
    ui,
    webrtc,
)
from runtime.session import SessionManager, SessionStore, load_session_settings
from runtime.webrtc import create_webrtc_peers

log = logging.getLogger(__name__)

VERSION = "0.1.0"
DESCRIPTION = """
runrobot sidecar: ACT inference sessions whose rooms are ROS 2 topics.

1. Create a session for a LeRobot ACT checkpoint (`POST /sessions`).
2. Publish camera images and normalized joint states to the rooms in `GET /sessions/{id}`.
3. Start inference; normalized joint commands arrive on the joint-output room.
"""


def default_data_dir() -> Path:
    return Path(os.environ.get("RUNROBOT_DATA_DIR", Path.home() / ".local" / "share" / "runrobot"))


def create_app(
    data_dir: str | Path | None = None,
    session_config: str | Path | None = None,
    enable_ros: bool = True,
) -> FastAPI:
    """The sidecar app; ROS 2 and the session manager start in its lifespan."""
    data = Path(data_dir) if data_dir else default_data_dir()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        data.mkdir(parents=True, exist_ok=True)
        app.state.data_dir = data
        app.state.cloud_db = CloudDB(data / "cloud.db")
        app.state.file_store = FileStore(data / "files")
        app.state.cloud_workers = CloudWorkers.start(app.state.cloud_db, app.state.file_store)
        app.state.log_buffer = install_log_buffer()
        app.state.started_at = time.time()
        app.state.ros_node = None
        executor = None
        if enable_ros:
            from runtime.ros.executor_thread import RosExecutorThread
            from runtime.ros.sidecar_node import SidecarNode

            executor = RosExecutorThread()
            app.state.ros_node = executor.add_node(SidecarNode(context=executor.context))
            executor.start()
        manager = SessionManager(
            SessionStore(data / "runrobot.db"), load_session_settings(session_config), app.state.ros_node
        )
        manager.restore()
        app.state.manager = manager
        app.state.webrtc = create_webrtc_peers(manager, app.state.ros_node)
        log.info("runrobot sidecar ready (data dir %s, ROS 2 %s)", data, "on" if enable_ros else "off")
        try:
            yield
        finally:
            await app.state.webrtc.close_all()
            app.state.cloud_workers.stop()
            manager.shutdown()
            if executor is not None:
                executor.shutdown()
            log.info("runrobot sidecar stopped")

    app = FastAPI(
        title="runrobot sidecar",
        summary="ACT inference sessions on ROS 2 for real-time robot control",
        description=DESCRIPTION,
        version=VERSION,
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(sessions.router)
    app.include_router(debug.router)
    app.include_router(webrtc.router)
    app.include_router(ui.router)
    app.include_router(g1.router)
    install_cloud_error_handlers(app)
    app.include_router(tokens.router)
    app.include_router(files.router)
    app.include_router(publish.router)
    for router in (deployments, rollouts, datasets, training, scenegen, arena, leaderboard):
        app.include_router(router.router)
    return app
