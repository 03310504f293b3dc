"""Pydantic models for the cloud API, named and shaped as the spec's components."""
