"""Dataset models: ``DatasetRecord``, ``DatasetRecordKind`` and ``DatasetRecordListEnvelope``."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from api.cloud.schemas.publish import DateTime, UriReference


class DatasetRecordKind(StrEnum):
    egocentric_video = "egocentric_video"
    human_wbc = "human_wbc"
    human_preference = "human_preference"


class DatasetRecord(BaseModel):
    id: str = Field(examples=["dataset_123"])
    owner: str = Field(examples=["chasebrignac"])
    title: str = Field(examples=["Apartment tabletop demos"])
    description: str
    kind: DatasetRecordKind
    fileName: str = Field(examples=["clip-1.mp4"])
    fileKey: str = Field(examples=["chasebrignac/dataset/apartment-tabletop-demos-dataset_123/clip-1.mp4"])
    mimeType: str = Field(examples=["video/mp4"])
    fileUrl: UriReference
    createdAt: DateTime
    updatedAt: DateTime


class DatasetRecordListEnvelope(BaseModel):
    items: list[DatasetRecord]
