from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.exports.formats import ExportFormat
from app.exports.models import ExportStatus
from app.projects.stages import DocumentType


class ExportError(BaseModel):
    code: str
    message: str


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = Field(
        default=ExportFormat.JEEX,
        description="The archive's layout: `jeex` (the documents in numbered folders), "
        "`agents` (plus AGENTS.md), `spec-kit`, `kiro` or `openspec` (the documents plus the "
        "files those tools read, mapped from the documents).",
    )


class ExportRead(BaseModel):
    id: UUID
    project_id: UUID
    format: ExportFormat
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
    document_type: DocumentType | None = Field(
        description="null for the README index and the layout's own files."
    )
    status: Literal["present", "absent"] = Field(
        description="absent: the document was not written yet, so the archive has no file for it."
    )
    version: int | None
    sha256: str | None
    bytes: int | None


class ManifestGap(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str = Field(description="The layout's file (or folder) that lacks something.")
    missing: str = Field(description="What the layout expects there and no document says.")
    source: DocumentType | None = Field(description="The document that would say it.")


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: Literal["jeex-idea-export/1"] = "jeex-idea-export/1"
    export_id: UUID
    project: ManifestProject
    language: str | None = Field(description="The project's language (ISO 639-1).")
    readme_language: str = Field(
        description="The language of README.md's own words; the project's when translated."
    )
    layout: ExportFormat = Field(description="The layout the archive was packed in.")
    requested_at: datetime
    generated_at: datetime
    files: list[ManifestFile]
    gaps: list[ManifestGap] = Field(
        description="What the layout's tools expect and the documents do not say: left out "
        "rather than invented."
    )
