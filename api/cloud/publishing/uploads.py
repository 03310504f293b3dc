"""Reading multipart uploads within limits: per file while reading, per request while receiving."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, UploadFile
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from api.cloud.errors import CloudError
from api.cloud.publishing.limits import FORM_OVERHEAD_BYTES, UPLOAD_LIMITS, describe_size, too_large

CHUNK_BYTES = 1024 * 1024

#: The file fields of each upload operation; their limits add up to the request's.
OPERATION_FILES: dict[str, tuple[str, ...]] = {
    "publishScene": ("glb", "preview"),
    "publishRobot": ("bundle",),
    "publishPolicy": ("model", "depthModel"),
}


async def read_upload(upload: UploadFile | None, field: str) -> bytes | None:
    """The upload's bytes (None when absent or empty), read in chunks; 400 once past the field's limit."""
    if upload is None:
        return None
    limit = UPLOAD_LIMITS[field]
    chunks, total = [], 0
    while chunk := await upload.read(CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            raise too_large(field)
        chunks.append(chunk)
    return b"".join(chunks) or None


def request_limit(operation_id: str | None) -> int | None:
    fields = OPERATION_FILES.get(operation_id or "")
    return None if fields is None else sum(UPLOAD_LIMITS[f] for f in fields) + FORM_OVERHEAD_BYTES


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise CloudError(400, f"The upload is too large: requests here are limited to {describe_size(limit)}.")
        return message

    return receive_within_limit


class UploadLimitRoute(APIRoute):
    """Stops reading an upload request as soon as its body passes the operation's total limit."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        operation_id = self.operation_id

        async def limited_handler(request: Request) -> Response:
            limit = request_limit(operation_id)
            if limit is None:
                return await handler(request)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise CloudError(400, f"The upload is too large: requests here are limited to {describe_size(limit)}.")
            return await handler(Request(request.scope, _limited(request.receive, limit)))

        return limited_handler
