from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.core.text import UserText
from app.documents.constants import MAX_VERSION
from app.projects.stages import DocumentType

MAX_DOCUMENT_CHARS = 500_000


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    document_type: DocumentType
    version: int
    author_user_id: UUID | None
    author_agent: str | None = Field(description="The agent whose work this version holds.")
    reason: str
    source_message_ids: list[UUID] = Field(description="Chat messages that led to it.")
    parent_version: int | None
    created_at: datetime


class DocumentVersionRead(VersionSummary):
    content: str = Field(description="Markdown.")


class DocumentStatus(BaseModel):
    document_type: DocumentType
    active_version: int | None = Field(description="Null until the stage writes it.")
    updated_at: datetime | None


class DocumentEdit(BaseModel):
    content: UserText = Field(min_length=1, max_length=MAX_DOCUMENT_CHARS)
    reason: UserText = Field(default="manual edit", min_length=1, max_length=500)


class RollbackRequest(BaseModel):
    version: int = Field(
        ge=1, le=MAX_VERSION, description="The version whose content becomes current again."
    )
    reason: UserText | None = Field(default=None, max_length=500)
