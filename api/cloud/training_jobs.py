"""Training jobs: creation against the caller's datasets, storage, and the Video2Robot proxy's refresh.

``egocentric_manipulation`` jobs use the ``local`` provider and are queued for the local worker
(``api.cloud.training_worker``). ``video2robot`` jobs need ``RUNROBOT_VIDEO2ROBOT_URL`` (503 without
it); their remote tasks are refreshed whenever the jobs are listed.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading

from api.cloud import video2robot as v2r
from api.cloud.datasets import owned_records, stored_path
from api.cloud.db import CloudDB, utc_now
from api.cloud.errors import CloudError
from api.cloud.policy_access import accessible_policy, policy_ref
from api.cloud.publishing.fields import TITLE_MAX_LEN, text_field
from api.cloud.schemas.training import CreateTrainingJobRequest, TrainingDatasetRun
from api.cloud.storage import FileStore

log = logging.getLogger(__name__)

JOBS = "training_jobs"
_refresh_lock = threading.Lock()  # one refresh at a time, so a retarget is never started twice


def ensure_job_table(db: CloudDB) -> None:
    db.ensure_table(
        JOBS,
        {
            "id": str,
            "owner": str,
            "title": str,
            "mode": str,
            "datasetIds": str,
            "basePolicyRef": str,
            "provider": str,
            "status": str,
            "notes": str,
            "lastError": str,
            "remoteBaseUrl": str,
            "runs": str,
            "createdAt": str,
            "updatedAt": str,
            "completedAt": str,
        },
        indexes=[["owner"], ["status"]],
    )


def load_job(row: dict) -> dict:
    """A stored row with its JSON columns decoded."""
    return {**row, "datasetIds": json.loads(row["datasetIds"]), "runs": json.loads(row["runs"])}


def public_job(job: dict) -> dict:
    out = {k: v for k, v in job.items() if k != "runs"}
    out["runs"] = [{k: run[k] for k in TrainingDatasetRun.model_fields} for run in job["runs"]]
    return out


def save_job(db: CloudDB, job: dict, **changes: object) -> dict:
    job = {**job, **changes, "updatedAt": utc_now()}
    stored = {**job, "datasetIds": json.dumps(job["datasetIds"]), "runs": json.dumps(job["runs"])}
    with db.transaction() as tx:
        tx[JOBS].upsert(stored, pk="id")
    return job


def create_job(db: CloudDB, store: FileStore, owner: str, req: CreateTrainingJobRequest) -> dict:
    """Validate and store a job; for Video2Robot, launch its remote projects now."""
    title = text_field(req.title, "title", "", TITLE_MAX_LEN)
    if not title:
        raise CloudError(400, "Training job title is required.")
    ids = [i.strip() for i in req.datasetIds if i.strip()]
    if not ids:
        raise CloudError(400, "datasetIds must name at least one of your datasets.")
    if len(set(ids)) != len(ids):
        raise CloudError(400, "datasetIds must not repeat a dataset.")
    datasets = owned_records(db, owner, ids)
    base = policy_ref(accessible_policy(db, owner, req.basePolicyRef, "basePolicyRef")) if req.basePolicyRef else None
    mode = str(req.mode)
    remote_url = v2r.configured_url() if mode == "video2robot" else None
    if mode == "video2robot" and remote_url is None:
        raise CloudError(503, f"Video2Robot is not configured on this server (set {v2r.URL_ENV}).")
    now = utc_now()
    job = {
        "id": f"train_{secrets.token_hex(8)}",
        "owner": owner,
        "title": title,
        "mode": mode,
        "datasetIds": ids,
        "basePolicyRef": base,
        "provider": "video2robot" if remote_url else "local",
        "status": "queued",
        "notes": req.notes,
        "lastError": None,
        "remoteBaseUrl": remote_url,
        "runs": [],
        "createdAt": now,
        "updatedAt": now,
        "completedAt": None,
    }
    ensure_job_table(db)
    if remote_url:
        job["runs"] = _launch_remote(store, remote_url, owner, job["id"], datasets)
        job["status"], job["lastError"] = v2r.job_status(job["runs"])
    return save_job(db, job)


def _launch_remote(store: FileStore, url: str, owner: str, job_id: str, datasets: list[dict]) -> list[dict]:
    runs = [v2r.new_run(d, f"{owner}-{job_id}-{d['id']}") for d in datasets]
    with v2r.Video2RobotClient(url) as client:
        for dataset, run in zip(datasets, runs, strict=True):
            path = stored_path(store, dataset)
            if path is None:
                run["uploadStatus"], run["uploadError"] = "failed", "the dataset's video is missing from storage"
                continue
            try:
                v2r.launch_run(client, run, path.read_bytes())
            except v2r.Video2RobotUnavailable as exc:
                if all(r["projectId"] is None for r in runs):
                    raise CloudError(503, str(exc)) from exc
                run["uploadStatus"], run["uploadError"] = "failed", str(exc)
    return runs


def list_jobs(db: CloudDB, owner: str) -> list[dict]:
    """The owner's jobs, newest first, Video2Robot ones refreshed from the service when it is configured."""
    ensure_job_table(db)
    jobs = [load_job(r) for r in db.rows(JOBS, "owner = ?", [owner], order_by="createdAt desc, rowid desc")]
    if v2r.configured_url():
        jobs = [_refreshed(db, j) if _needs_refresh(j) else j for j in jobs]
    return jobs


def _needs_refresh(job: dict) -> bool:
    return job["provider"] == "video2robot" and job["status"] not in ("completed", "failed") and job["remoteBaseUrl"]


def _refreshed(db: CloudDB, job: dict) -> dict:
    with _refresh_lock:
        job = load_job(db.get(JOBS, job["id"]))  # another request may have refreshed it meanwhile
        if not _needs_refresh(job):
            return job
        try:
            with v2r.Video2RobotClient(job["remoteBaseUrl"]) as client:
                for run in job["runs"]:
                    v2r.refresh_run(client, run)
        except v2r.Video2RobotUnavailable as exc:  # keep what was learnt before the service went away
            log.warning("training job %s not fully refreshed: %s", job["id"], exc)
        status, error = v2r.job_status(job["runs"])
        completed_at = utc_now() if status == "completed" else None
        return save_job(db, job, status=status, lastError=error, completedAt=completed_at)
