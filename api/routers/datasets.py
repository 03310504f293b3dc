"""Dataset uploads: MP4 videos checked with PyAV, one record per file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from api.cloud.auth import CurrentIdentity, Database
from api.cloud.datasets import Upload, list_records, upload_records
from api.cloud.schemas.common import ERRORS
from api.cloud.schemas.datasets import DatasetRecord, DatasetRecordKind, DatasetRecordListEnvelope

router = APIRouter(prefix="/api/datasets/uploads", tags=["Datasets"])


@router.get("", operation_id="listDatasetRecords", summary="List uploaded dataset records", responses=ERRORS(401))
def list_dataset_records(identity: CurrentIdentity, db: Database) -> DatasetRecordListEnvelope:
    """Returns uploaded MP4 dataset records for the authenticated user."""
    return DatasetRecordListEnvelope(items=[DatasetRecord(**r) for r in list_records(db, identity.owner)])


@router.post(
    "",
    operation_id="uploadDatasetRecords",
    summary="Upload MP4 dataset records",
    status_code=201,
    responses=ERRORS(400, 401),
)
def upload_dataset_records(
    identity: CurrentIdentity,
    db: Database,
    request: Request,
    title: Annotated[str, Form()],
    kind: Annotated[DatasetRecordKind, Form()],
    files: Annotated[list[UploadFile], File(description="MP4 video upload.")],
    description: Annotated[str, Form()] = "",
) -> DatasetRecordListEnvelope:
    """Uploads one or more MP4 files for egocentric video, human WBC, or preference datasets.

    Every file must be an MP4 (an ``ftyp`` box) whose video stream decodes; otherwise nothing is stored.
    """
    uploads = [Upload(f.filename or "upload.mp4", f.file) for f in files]
    records = upload_records(
        db, request.app.state.file_store, str(request.base_url), identity.owner, title, description, str(kind), uploads
    )
    return DatasetRecordListEnvelope(items=[DatasetRecord(**r) for r in records])
