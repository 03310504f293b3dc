"""Upload size limits (bytes) per form field, and the check that names the field."""

from __future__ import annotations

from api.cloud.errors import CloudError

MB = 1024 * 1024

#: Per-field caps; the router also stops reading a request once its total passes their sum.
UPLOAD_LIMITS: dict[str, int] = {
    "glb": 200 * MB,
    "preview": 10 * MB,
    "bundle": 100 * MB,
    "model": 200 * MB,
    "depthModel": 200 * MB,
}
#: Room for the text fields and multipart framing on top of the files.
FORM_OVERHEAD_BYTES = 2 * MB


def describe_size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n} bytes"


def too_large(field: str, limit: int | None = None) -> CloudError:
    limit = UPLOAD_LIMITS[field] if limit is None else limit
    return CloudError(400, f"{field} is too large: the limit is {describe_size(limit)}.")


def check_size(data: bytes, field: str) -> None:
    """400 when ``data`` is over the field's limit, or empty."""
    if not data:
        raise CloudError(400, f"{field} is empty.")
    if len(data) > UPLOAD_LIMITS[field]:
        raise too_large(field)
