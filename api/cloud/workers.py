"""The cloud's background workers, owned by the app: started in its lifespan, stopped at shutdown.

- ``jobs`` (2 threads): deployment checks (ONNX loads) and SceneGen pipelines.
- ``training`` (1 thread): the local training worker, one job at a time in queue order.

Starting resumes work a previous run left unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.cloud import scenegen
from api.cloud.db import CloudDB
from api.cloud.deployments import resume_deployment_checks
from api.cloud.job_runner import JobRunner
from api.cloud.storage import FileStore
from api.cloud.training_worker import resume_local_jobs


@dataclass
class CloudWorkers:
    jobs: JobRunner
    training: JobRunner

    @classmethod
    def start(cls, db: CloudDB, store: FileStore) -> CloudWorkers:
        workers = cls(jobs=JobRunner("cloud-jobs", max_workers=2), training=JobRunner("local-training", max_workers=1))
        resume_deployment_checks(db, store, workers.jobs)
        scenegen.resume_jobs(db, store, workers.jobs)
        resume_local_jobs(db, store, workers.training)
        return workers

    def stop(self) -> None:
        """Drop queued work and wait for running jobs (work left unfinished resumes at the next start)."""
        self.jobs.shutdown()
        self.training.shutdown()


def get_workers(request: Request) -> CloudWorkers:
    return request.app.state.cloud_workers
