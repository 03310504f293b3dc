"""The cloud API's ``{"error": "..."}`` error shape, scoped to the cloud's paths.

The session API keeps FastAPI's ``detail`` shape; handlers here pick the shape by path.
Validation errors on cloud paths are 400, so the generated OpenAPI drops FastAPI's 422 there.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

CLOUD_PREFIXES = ("/api/", "/v1/", "/files/")


class CloudError(HTTPException):
    """An error answered as ``{"error": message}`` with ``status_code``."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code=status_code, detail=message)


def json_safe(value: Any) -> Any:
    """NaN/inf (which JSON cannot carry) as strings, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def is_cloud_path(path: str) -> bool:
    return path.startswith(CLOUD_PREFIXES)


def describe_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "Invalid request: " + "; ".join(parts)


def drop_cloud_validation_responses(schema: dict) -> dict:
    """Remove FastAPI's generated 422 responses from cloud operations in an OpenAPI document (in place)."""
    for path, item in schema.get("paths", {}).items():
        if is_cloud_path(path):
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.get("responses", {}).pop("422", None)
    return schema


def install_cloud_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` document cloud validation errors as the 400 they are, not FastAPI's 422."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = drop_cloud_validation_responses(generate())
        return app.openapi_schema

    app.openapi = openapi


def install_cloud_error_handlers(app: FastAPI) -> None:
    """Answer errors on cloud paths as ``{"error": ...}`` (validation errors are 400 there) and document so."""
    install_cloud_openapi(app)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if is_cloud_path(request.url.path):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        if is_cloud_path(request.url.path):
            return JSONResponse({"error": describe_validation_error(exc)}, status_code=400)
        # FastAPI's own 422 shape; rejected NaN/inf inputs are echoed as strings so the body encodes.
        return JSONResponse({"detail": jsonable_encoder(json_safe(list(exc.errors())))}, status_code=422)
