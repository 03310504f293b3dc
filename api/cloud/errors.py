"""The cloud API's ``{"error": "..."}`` error shape, scoped to the cloud's paths.

The session API keeps FastAPI's ``detail`` shape; handlers here pick the shape by path.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

CLOUD_PREFIXES = ("/api/", "/v1/", "/files/")


class CloudError(HTTPException):
    """An error answered as ``{"error": message}`` with ``status_code``."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code=status_code, detail=message)


def is_cloud_path(path: str) -> bool:
    return path.startswith(CLOUD_PREFIXES)


def describe_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "Invalid request: " + "; ".join(parts)


def install_cloud_error_handlers(app: FastAPI) -> None:
    """Answer errors on cloud paths as ``{"error": ...}`` (validation errors are 400 there)."""

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if is_cloud_path(request.url.path):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        if is_cloud_path(request.url.path):
            return JSONResponse({"error": describe_validation_error(exc)}, status_code=400)
        return await request_validation_exception_handler(request, exc)
