"""The error model and a helper to document error responses on routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

ERROR_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Missing or invalid auth",
    403: "Owner mismatch",
    404: "Not found",
    503: "Service unavailable",
}


class Error(BaseModel):
    error: str = Field(description="Human-readable error message.", examples=["Authentication required."])


def ERRORS(*codes: int) -> dict[int, dict]:  # noqa: N802 - reads like a constant at the route
    """``responses=`` for the given error codes, all with the ``Error`` shape."""
    return {code: {"model": Error, "description": ERROR_DESCRIPTIONS.get(code, "Error")} for code in codes}
