"""SceneGen jobs: a photo and boxes in, a published ``visual_overlay`` scene out.

A job runs on a background thread: ``queued`` -> ``segmenting`` (crop each box) ->
``generating_scene`` (textured objects, GLB; see ``api.cloud.scene_builder``) -> ``publishing``
(``publish_scene`` as the caller's scene) -> ``ready``; any error ends it ``failed`` with ``error``.
"""

from __future__ import annotations

import io
import json
import logging
import secrets

from PIL import Image, UnidentifiedImageError
from pydantic import TypeAdapter, ValidationError

from api.cloud.db import CloudDB, utc_now
from api.cloud.errors import CloudError
from api.cloud.job_runner import JobRunner
from api.cloud.publishing.fields import TITLE_MAX_LEN, blank_to_none, normalize_slug, parse_ref, text_field
from api.cloud.publishing.scenes import DEFAULT_BENCHMARK_SCENE_REF, publish_scene
from api.cloud.publishing.staging import staged_writes
from api.cloud.publishing.transforms import identity_transform
from api.cloud.scene_builder import build_scene_glb, preview_png
from api.cloud.schemas.scenegen import PublicSceneJob, SceneBox
from api.cloud.storage import FileStore, public_url

log = logging.getLogger(__name__)

JOBS = "scenegen_jobs"
MAX_BOXES = 32
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
_boxes_adapter = TypeAdapter(list[SceneBox])


def ensure_job_table(db: CloudDB) -> None:
    db.ensure_table(
        JOBS,
        {
            "id": str,
            "owner": str,
            "slugPath": str,
            "title": str,
            "description": str,
            "benchmarkSceneRef": str,
            "sourceImageUrl": str,
            "sourceImageName": str,
            "baseUrl": str,
            "previewUrl": str,
            "sceneUrl": str,
            "sceneHref": str,
            "status": str,
            "phase": str,
            "transform": str,
            "boxes": str,
            "error": str,
            "createdAt": str,
            "updatedAt": str,
        },
        indexes=[["owner"], ["status"]],
    )


def public_job(row: dict) -> dict:
    out = {k: row[k] for k in PublicSceneJob.model_fields}
    out["transform"], out["boxes"] = json.loads(row["transform"]), json.loads(row["boxes"])
    return out


def get_job(db: CloudDB, job_id: str) -> dict:
    ensure_job_table(db)
    row = db.get(JOBS, job_id)
    if row is None:
        raise CloudError(404, "SceneGen job not found.")
    return public_job(row)


def parse_boxes(text: str) -> list[dict]:
    """JSON text -> validated boxes (each inside the image, non-empty); 400 otherwise."""
    try:
        boxes = [b.model_dump() for b in _boxes_adapter.validate_json(text)]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise CloudError(400, f"Invalid boxes: {where + ': ' if where else ''}{first.get('msg')}.") from exc
    if not boxes:
        raise CloudError(400, "Invalid boxes: at least one box is required.")
    if len(boxes) > MAX_BOXES:
        raise CloudError(400, f"Invalid boxes: at most {MAX_BOXES} boxes.")
    for i, b in enumerate(boxes):
        if b["width"] <= 0 or b["height"] <= 0:
            raise CloudError(400, f"Invalid boxes: box {i} has no area.")
        if b["x"] + b["width"] > 1 + 1e-6 or b["y"] + b["height"] > 1 + 1e-6:
            raise CloudError(400, f"Invalid boxes: box {i} extends past the image.")
    return boxes


def read_image(data: bytes) -> str:
    """The file extension of a PNG/JPEG/WebP photo that decodes; 400 otherwise."""
    if len(data) > MAX_IMAGE_BYTES:
        raise CloudError(400, f"The image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise CloudError(400, f"The image does not decode: {exc}") from exc
    if fmt not in IMAGE_FORMATS:
        raise CloudError(400, f"Unsupported image format {fmt}; use PNG, JPEG or WebP.")
    return IMAGE_FORMATS[fmt]


def create_job(
    db: CloudDB,
    store: FileStore,
    base_url: str,
    owner: str,
    *,
    slug_path: str,
    title: str,
    description: str,
    benchmark_scene_ref: str | None,
    boxes_json: str,
    image: bytes,
) -> dict:
    """Validate the request, store the photo and a ``queued`` job."""
    slug = normalize_slug(slug_path, "")
    title = text_field(title, "title", "", TITLE_MAX_LEN)
    if not slug:
        raise CloudError(400, "slugPath is required.")
    if not title:
        raise CloudError(400, "title is required.")
    benchmark = blank_to_none(benchmark_scene_ref) or DEFAULT_BENCHMARK_SCENE_REF
    parse_ref(benchmark, "benchmarkSceneRef")
    boxes = parse_boxes(boxes_json)
    ext = read_image(image)
    now = utc_now()
    row = {
        "id": f"scenejob_{secrets.token_hex(8)}",
        "owner": owner,
        "slugPath": slug,
        "title": title,
        "description": description,
        "benchmarkSceneRef": benchmark,
        "sourceImageUrl": None,
        "sourceImageName": None,
        "baseUrl": base_url,
        "previewUrl": None,
        "sceneUrl": None,
        "sceneHref": f"/{owner}/{slug}",
        "status": "queued",
        "phase": "queued",
        "transform": json.dumps(identity_transform()),
        "boxes": json.dumps(boxes),
        "error": None,
        "createdAt": now,
        "updatedAt": now,
    }
    ensure_job_table(db)
    with staged_writes(db, store) as staged:
        stored = staged.put(image, ext)
        row["sourceImageUrl"], row["sourceImageName"] = public_url(base_url, stored), stored.name
        with db.transaction() as tx:
            tx[JOBS].insert(row)
    return public_job(row)


def _update(db: CloudDB, job_id: str, **changes: object) -> None:
    with db.transaction() as tx:
        tx[JOBS].update(job_id, {**changes, "updatedAt": utc_now()})


def run_job(db: CloudDB, store: FileStore, job_id: str) -> None:
    """The pipeline; always ends ``ready`` or ``failed``."""
    row = db.get(JOBS, job_id)
    if row is None or row["status"] not in ("queued", "running"):
        return
    try:
        _update(db, job_id, status="running", phase="segmenting")
        path = store.resolve(row["sourceImageName"])
        if path is None:
            raise CloudError(400, "the source image is missing from storage")
        boxes = json.loads(row["boxes"])
        with Image.open(path) as source:
            image = source.convert("RGB")
        _update(db, job_id, phase="generating_scene")
        glb = build_scene_glb(image, boxes)
        preview = preview_png(image, boxes)
        _update(db, job_id, phase="publishing")
        manifest = publish_scene(
            db,
            store,
            row["baseUrl"],
            row["owner"],
            glb=glb,
            slug_path=row["slugPath"],
            title=row["title"],
            description=row["description"],
            benchmark_scene_ref=row["benchmarkSceneRef"],
            preview=preview,
            mode="visual_overlay",
        )
    except CloudError as exc:
        _update(db, job_id, status="failed", phase="failed", error=str(exc.detail))
        return
    except Exception as exc:
        log.exception("SceneGen job %s crashed", job_id)
        _update(db, job_id, status="failed", phase="failed", error=f"SceneGen crashed: {exc}")
        return
    _update(
        db,
        job_id,
        status="ready",
        phase="ready",
        sceneUrl=manifest["glbUrl"],
        previewUrl=manifest["previewUrl"],
        benchmarkSceneRef=manifest["benchmarkSceneRef"],
        transform=json.dumps(manifest["transform"]),
        slugPath=manifest["slugPath"],
        sceneHref=f"/{manifest['owner']}/{manifest['slugPath']}",
    )


def resume_jobs(db: CloudDB, store: FileStore, runner: JobRunner) -> None:
    """Queue jobs left ``queued`` or ``running`` (e.g. by a restart); they start over."""
    ensure_job_table(db)
    for row in db.rows(JOBS, "status in ('queued', 'running')", order_by="createdAt"):
        runner.submit(run_job, db, store, row["id"])
