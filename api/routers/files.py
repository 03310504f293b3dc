"""``GET /files/{name}``: the uploaded files the cloud manifests point at."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from api.cloud.errors import CloudError
from api.cloud.storage import CONTENT_TYPES

router = APIRouter(tags=["files"])


@router.get("/files/{name}", include_in_schema=False)
def get_file(name: str, request: Request) -> FileResponse:
    path = request.app.state.file_store.resolve(name)
    if path is None:
        raise CloudError(404, "File not found.")
    media_type = CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=31536000, immutable"})
