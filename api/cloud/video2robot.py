"""Client for an external Video2Robot service and the mapping of its tasks onto training runs.

REST contract the service implements (JSON unless noted; errors are any non-2xx, ideally ``{"error": "..."}``):

- ``POST /projects`` body ``{"name": str}`` -> 201 ``{"id": str, "name": str}``
- ``POST /projects/{id}/videos`` multipart field ``video`` (an MP4) -> 201 ``{"fileName": str, "bytes": int}``
- ``POST /projects/{id}/extract`` -> 202 ``{"taskId": str}`` (human pose extraction from the uploaded video)
- ``POST /projects/{id}/retarget`` body ``{"robot": str}`` -> 202 ``{"taskId": str}``; 409 until extraction completed
- ``GET /projects/{id}/tasks/{taskId}`` -> 200 ``{"taskId", "kind": "extract"|"retarget",
  "state": "pending"|"running"|"succeeded"|"failed", "progress": 0..1, "message": str, "error": str|null,
  "startedAt": str|null, "finishedAt": str|null, "result": {"motionUrl": str}|null}``

States map to ``TrainingTask.status`` as pending->pending, running->running, succeeded->completed,
failed->failed; a task not launched yet is ``not_started``.
"""

from __future__ import annotations

import os

import httpx

from api.cloud.db import utc_now

URL_ENV = "RUNROBOT_VIDEO2ROBOT_URL"
RETARGET_ROBOT = "unitree_g1"
TASK_STATES = {"pending": "pending", "running": "running", "succeeded": "completed", "failed": "failed"}
TERMINAL = ("completed", "failed")


class Video2RobotUnavailable(Exception):
    """The service could not be reached."""


class Video2RobotError(Exception):
    """The service answered with an error."""


def configured_url() -> str | None:
    url = os.environ.get(URL_ENV, "").strip().rstrip("/")
    return url or None


class Video2RobotClient:
    """Thin synchronous client for the contract above."""

    def __init__(self, base_url: str, timeout: float = 10.0, upload_timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._upload_timeout = upload_timeout

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Video2RobotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: object) -> dict:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Video2RobotUnavailable(f"Video2Robot at {self.base_url} is unreachable: {exc}") from exc
        if response.is_error:
            try:
                detail = response.json().get("error") or response.text
            except ValueError:
                detail = response.text
            raise Video2RobotError(f"{method} {path} -> {response.status_code}: {str(detail)[:300]}")
        return response.json()

    def create_project(self, name: str) -> str:
        return str(self._call("POST", "/projects", json={"name": name})["id"])

    def upload_video(self, project_id: str, file_name: str, data: bytes) -> None:
        files = {"video": (file_name, data, "video/mp4")}
        self._call("POST", f"/projects/{project_id}/videos", files=files, timeout=self._upload_timeout)

    def start_extract(self, project_id: str) -> str:
        return str(self._call("POST", f"/projects/{project_id}/extract")["taskId"])

    def start_retarget(self, project_id: str, robot: str = RETARGET_ROBOT) -> str:
        return str(self._call("POST", f"/projects/{project_id}/retarget", json={"robot": robot})["taskId"])

    def get_task(self, project_id: str, task_id: str) -> dict:
        return self._call("GET", f"/projects/{project_id}/tasks/{task_id}")


def not_started_task() -> dict:
    return {
        "taskId": None,
        "status": "not_started",
        "progress": 0.0,
        "message": "",
        "error": None,
        "startedAt": None,
        "completedAt": None,
    }


def launched_task(task_id: str, message: str) -> dict:
    return {**not_started_task(), "taskId": task_id, "status": "pending", "message": message, "startedAt": utc_now()}


def failed_task(task: dict, error: str) -> dict:
    return {**task, "status": "failed", "error": error, "completedAt": utc_now()}


def task_from_remote(task: dict, remote: dict) -> dict:
    """``TrainingTask`` fields from the service's task document."""
    state = TASK_STATES.get(str(remote.get("state")))
    if state is None:
        return failed_task(task, f"Video2Robot reported an unknown task state {remote.get('state')!r}")
    progress = min(1.0, max(0.0, float(remote.get("progress") or 0.0)))
    return {
        "taskId": task["taskId"],
        "status": state,
        "progress": 1.0 if state == "completed" else progress,
        "message": str(remote.get("message") or ""),
        "error": remote.get("error"),
        "startedAt": remote.get("startedAt") or task.get("startedAt"),
        "completedAt": remote.get("finishedAt") if state in TERMINAL else None,
    }


def new_run(dataset: dict, project_name: str) -> dict:
    """A ``TrainingDatasetRun`` before anything was sent (``projectId`` is kept privately)."""
    return {
        "datasetId": dataset["id"],
        "datasetTitle": dataset["title"],
        "datasetKind": dataset["kind"],
        "fileName": dataset["fileName"],
        "projectName": project_name,
        "projectId": None,
        "uploadStatus": "pending",
        "uploadError": None,
        "extract": not_started_task(),
        "retarget": not_started_task(),
        "motionUrl": None,
        "updatedAt": utc_now(),
    }


def launch_run(client: Video2RobotClient, run: dict, video: bytes) -> None:
    """Create the project, upload the MP4 and start extraction; service errors are recorded on the run.

    ``Video2RobotUnavailable`` propagates when nothing was created remotely yet, so the caller can answer 503.
    """
    try:
        run["projectId"] = client.create_project(run["projectName"])
        client.upload_video(run["projectId"], run["fileName"], video)
        run["uploadStatus"] = "uploaded"
        run["extract"] = launched_task(client.start_extract(run["projectId"]), "pose extraction requested")
    except Video2RobotUnavailable:
        if run["projectId"] is None:
            raise
        _record_failure(run, "Video2Robot became unreachable")
    except Video2RobotError as exc:
        _record_failure(run, str(exc))
    run["updatedAt"] = utc_now()


def _record_failure(run: dict, error: str) -> None:
    if run["uploadStatus"] != "uploaded":
        run["uploadStatus"], run["uploadError"] = "failed", error
    else:
        run["extract"] = failed_task(run["extract"], error)


def run_finished(run: dict) -> bool:
    return (
        run["uploadStatus"] == "failed" or run["extract"]["status"] == "failed" or run["retarget"]["status"] in TERMINAL
    )


def refresh_run(client: Video2RobotClient, run: dict) -> None:
    """Poll the run's tasks and start retargeting once extraction completed (raises ``Video2RobotUnavailable``)."""
    if run_finished(run) or run["projectId"] is None:
        return
    pid = run["projectId"]
    try:
        if run["extract"]["taskId"] and run["extract"]["status"] not in TERMINAL:
            run["extract"] = task_from_remote(run["extract"], client.get_task(pid, run["extract"]["taskId"]))
        if run["extract"]["status"] == "completed" and run["retarget"]["taskId"] is None:
            run["retarget"] = launched_task(client.start_retarget(pid), f"retargeting to {RETARGET_ROBOT} requested")
        if run["retarget"]["taskId"] and run["retarget"]["status"] not in TERMINAL:
            remote = client.get_task(pid, run["retarget"]["taskId"])
            run["retarget"] = task_from_remote(run["retarget"], remote)
            if run["retarget"]["status"] == "completed":
                run["motionUrl"] = (remote.get("result") or {}).get("motionUrl")
    except Video2RobotError as exc:
        stage = "retarget" if run["extract"]["status"] == "completed" else "extract"
        run[stage] = failed_task(run[stage], str(exc))
    run["updatedAt"] = utc_now()


def job_status(runs: list[dict]) -> tuple[str, str | None]:
    """``TrainingStatus`` and ``lastError`` of a Video2Robot job from its runs."""
    errors = [
        f"{r['fileName']}: {r['uploadError'] or r['extract']['error'] or r['retarget']['error'] or 'failed'}"
        for r in runs
        if r["uploadStatus"] == "failed" or "failed" in (r["extract"]["status"], r["retarget"]["status"])
    ]
    if all(run_finished(r) for r in runs):
        return ("failed", "; ".join(errors)) if errors else ("completed", None)
    started = any(r["extract"]["status"] in ("running", "completed") for r in runs)
    return ("running" if started else "queued"), None
