"""Pydantic models: the single source of the sidecar's OpenAPI schemas."""
