"""A local stand-in for the external Video2Robot service, for contract tests (127.0.0.1 only).

It implements the REST contract documented in ``api.cloud.video2robot``. Tasks advance one state
per poll (``pending`` -> ``running`` -> ``succeeded``), so tests are fast and deterministic; a
video whose file name contains ``fail`` makes its extraction fail. Run it by hand with
``python tests/cloud/video2robot_standin.py --port 8765``.
"""

from __future__ import annotations

import argparse
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import uvicorn
from fastapi import FastAPI, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

HOST = "127.0.0.1"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Task:
    id: str
    kind: str
    fail: bool
    polls: int = 0
    started_at: str | None = None
    finished_at: str | None = None

    def advance(self) -> str:
        """The state for this poll: pending, then running, then succeeded or failed."""
        self.polls += 1
        if self.polls == 1:
            return "pending"
        self.started_at = self.started_at or _now()
        if self.polls == 2:
            return "running"
        self.finished_at = self.finished_at or _now()
        return "failed" if self.fail else "succeeded"


@dataclass
class Project:
    id: str
    name: str
    videos: dict[str, bytes] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)  # task id -> last reported state


class ProjectRequest(BaseModel):
    name: str


class RetargetRequest(BaseModel):
    robot: str


def create_standin_app() -> FastAPI:
    """The stand-in service; ``app.state.projects`` exposes what it received."""
    app = FastAPI(title="Video2Robot stand-in")
    projects: dict[str, Project] = {}
    app.state.projects = projects

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.post("/projects", status_code=201)
    def create_project(body: ProjectRequest) -> dict:
        project = Project(id=f"proj_{secrets.token_hex(4)}", name=body.name)
        projects[project.id] = project
        return {"id": project.id, "name": project.name}

    @app.post("/projects/{project_id}/videos", status_code=201)
    def upload_video(project_id: str, video: Annotated[UploadFile, File()]):
        project = projects.get(project_id)
        if project is None:
            return error(404, "project not found")
        data = video.file.read()
        if data[4:8] != b"ftyp":
            return error(400, "not an MP4")
        project.videos[video.filename or "video.mp4"] = data
        return {"fileName": video.filename, "bytes": len(data)}

    def start(project_id: str, kind: str) -> Task | JSONResponse:
        project = projects.get(project_id)
        if project is None:
            return error(404, "project not found")
        if not project.videos:
            return error(409, "upload a video first")
        if kind == "retarget":
            extract = next((t for t in project.tasks.values() if t.kind == "extract"), None)
            if extract is None or project.states.get(extract.id) != "succeeded":
                return error(409, "extraction has not succeeded yet")
        fail = kind == "extract" and any("fail" in name for name in project.videos)
        task = Task(id=f"task_{secrets.token_hex(4)}", kind=kind, fail=fail)
        project.tasks[task.id] = task
        return task

    @app.post("/projects/{project_id}/extract", status_code=202)
    def extract(project_id: str):
        task = start(project_id, "extract")
        return task if isinstance(task, JSONResponse) else {"taskId": task.id}

    @app.post("/projects/{project_id}/retarget", status_code=202)
    def retarget(project_id: str, body: RetargetRequest):
        task = start(project_id, "retarget")
        return task if isinstance(task, JSONResponse) else {"taskId": task.id}

    @app.get("/projects/{project_id}/tasks/{task_id}")
    def get_task(project_id: str, task_id: str, request: Request):
        project = projects.get(project_id)
        task = project.tasks.get(task_id) if project else None
        if task is None:
            return error(404, "task not found")
        state = task.advance()
        project.states[task.id] = state
        done = state in ("succeeded", "failed")
        motion = f"{str(request.base_url).rstrip('/')}/projects/{project_id}/motion.npz"
        return {
            "taskId": task.id,
            "kind": task.kind,
            "state": state,
            "progress": {"pending": 0.0, "running": 0.5}.get(state, 1.0),
            "message": f"{task.kind} {state}",
            "error": "no person detected in the video" if state == "failed" else None,
            "startedAt": task.started_at,
            "finishedAt": task.finished_at if done else None,
            "result": {"motionUrl": motion} if state == "succeeded" and task.kind == "retarget" else None,
        }

    return app


@contextmanager
def running_standin() -> Iterator[tuple[str, FastAPI]]:
    """Serve a fresh stand-in on 127.0.0.1 (a free port) in a thread; yields ``(base_url, app)``."""
    app = create_standin_app()
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="video2robot-standin", daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError("the Video2Robot stand-in did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{HOST}:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    uvicorn.run(create_standin_app(), host=HOST, port=parser.parse_args().port)
