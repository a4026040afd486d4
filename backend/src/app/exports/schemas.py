from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.exports.models import ExportStatus
from app.projects.stages import DocumentType


class ExportError(BaseModel):
    code: str
    message: str


class ExportRead(BaseModel):
    id: UUID
    project_id: UUID
    status: ExportStatus
    documents: dict[DocumentType, int | None] = Field(
        description="The version of each document the archive holds (null: not written yet), "
        "fixed when the export was requested."
    )
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None = Field(description="After this the archive is removed.")
    archive_bytes: int | None
    archive_sha256: str | None = Field(description="SHA-256 of the whole ZIP file.")
    error: ExportError | None
    download_path: str | None = Field(description="Where to GET the ZIP, once it is ready.")


class ManifestProject(BaseModel):
    id: UUID
    name: str
    slug: str = Field(description="The archive's top folder.")


class ManifestFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str = Field(description="Relative to the folder holding manifest.json.")
    document_type: DocumentType | None = Field(description="null for the README index.")
    status: Literal["present", "absent"] = Field(
        description="absent: the document was not written yet, so the archive has no file for it."
    )
    version: int | None
    sha256: str | None
    bytes: int | None


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: Literal["jeex-idea-export/1"] = "jeex-idea-export/1"
    export_id: UUID
    project: ManifestProject
    language: str | None = Field(description="The project's language (ISO 639-1).")
    readme_language: str = Field(
        description="The language of README.md's own words; the project's when translated."
    )
    requested_at: datetime
    generated_at: datetime
    files: list[ManifestFile]
