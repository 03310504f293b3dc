"""SceneGen: start an image-to-scene job, poll it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from api.cloud import scenegen
from api.cloud.auth import CurrentIdentity, Database, check_owner
from api.cloud.schemas.common import ERRORS
from api.cloud.schemas.scenegen import PublicSceneJob, SceneJobEnvelope
from api.cloud.workers import CloudWorkers, get_workers

router = APIRouter(prefix="/api/scenegen/jobs", tags=["SceneGen"])
Workers = Annotated[CloudWorkers, Depends(get_workers)]


@router.post(
    "",
    operation_id="createSceneGenJob",
    summary="Create a SceneGen job",
    status_code=201,
    responses=ERRORS(400, 401, 403),
)
def create_scenegen_job(
    identity: CurrentIdentity,
    db: Database,
    workers: Workers,
    request: Request,
    slugPath: Annotated[str, Form()],  # noqa: N803 - the spec's field name
    title: Annotated[str, Form()],
    boxes: Annotated[str, Form(description="JSON-encoded array of normalized boxes.")],
    image: Annotated[UploadFile, File(description="Input photo.")],
    owner: Annotated[str | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    benchmarkSceneRef: Annotated[str | None, Form()] = None,  # noqa: N803
) -> SceneJobEnvelope:
    """Uploads one image and normalized boxes, then starts asynchronous SceneGen processing."""
    store = request.app.state.file_store
    job = scenegen.create_job(
        db,
        store,
        str(request.base_url),
        check_owner(identity, owner),
        slug_path=slugPath,
        title=title,
        description=description,
        benchmark_scene_ref=benchmarkSceneRef,
        boxes_json=boxes,
        image=image.file.read(scenegen.MAX_IMAGE_BYTES + 1),
    )
    workers.jobs.submit(scenegen.run_job, db, store, job["id"])
    return SceneJobEnvelope(job=PublicSceneJob(**job))


@router.get("/{jobId}", operation_id="getSceneGenJob", summary="Read a SceneGen job", responses=ERRORS(404))
def get_scenegen_job(jobId: str, db: Database) -> SceneJobEnvelope:  # noqa: N803
    """Poll this endpoint until status becomes ready or failed."""
    return SceneJobEnvelope(job=PublicSceneJob(**scenegen.get_job(db, jobId)))
