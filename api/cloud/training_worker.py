"""The local training worker: picks up queued ``local`` jobs on its own thread.

Local training is not implemented yet. The worker does what it can honestly do: it opens each
dataset video with PyAV (frames, duration, size), writes that report into the job's notes, and
ends the job ``failed`` with a ``lastError`` saying no model was trained. It never reports success.
"""

from __future__ import annotations

import logging

from api.cloud.datasets import DATASETS, stored_path
from api.cloud.db import CloudDB
from api.cloud.job_runner import JobRunner
from api.cloud.mp4_video import NotAVideo, inspect_video
from api.cloud.storage import FileStore
from api.cloud.training_jobs import JOBS, ensure_job_table, load_job, save_job

log = logging.getLogger(__name__)

NOT_IMPLEMENTED = (
    "Local {mode} training is not implemented on this server yet: the worker inspected the datasets "
    "(see notes) and trained no model."
)


def inspect_datasets(db: CloudDB, store: FileStore, dataset_ids: list[str]) -> list[str]:
    """One line per dataset: what PyAV found in its video, or why it could not look."""
    lines = []
    for dataset_id in dataset_ids:
        row = db.get(DATASETS, dataset_id)
        path = stored_path(store, row) if row else None
        if path is None:
            lines.append(f"{dataset_id}: video missing from storage")
            continue
        try:
            lines.append(f"{dataset_id} ({row['fileName']}): {inspect_video(path).describe()}")
        except NotAVideo as exc:
            lines.append(f"{dataset_id} ({row['fileName']}): {exc}")
    return lines


def run_local_job(db: CloudDB, store: FileStore, job_id: str) -> None:
    """queued -> running (inspect the datasets) -> failed, with the report and the reason."""
    row = db.get(JOBS, job_id)
    if row is None or row["provider"] != "local" or row["status"] not in ("queued", "running"):
        return
    job = save_job(db, load_job(row), status="running")
    lines = inspect_datasets(db, store, job["datasetIds"])
    report = "[local worker] inspected with PyAV:\n" + "\n".join(f"- {line}" for line in lines)
    notes = f"{job['notes'].rstrip()}\n\n{report}" if job["notes"].strip() else report
    save_job(db, job, status="failed", notes=notes, lastError=NOT_IMPLEMENTED.format(mode=job["mode"]))
    log.info("local training job %s inspected %d datasets; not trained", job_id, len(lines))


def resume_local_jobs(db: CloudDB, store: FileStore, runner: JobRunner) -> None:
    """Queue local jobs left ``queued`` or ``running`` (e.g. by a restart)."""
    ensure_job_table(db)
    for row in db.rows(JOBS, "provider = 'local' and status in ('queued', 'running')", order_by="createdAt"):
        runner.submit(run_local_job, db, store, row["id"])
