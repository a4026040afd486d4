"""What the MCP server hands out: every resource and tool result is one of these."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.conversation.questions import OpenQuestion
from app.documents.tracing.schemas import ITEM_ID_PATTERN, StaleRead, TraceNodeRead
from app.exports.schemas import ManifestFile
from app.memory.schemas import MemoryHit
from app.projects.schemas import ProjectRead
from app.projects.stages import DocumentType

MAX_QUERY_CHARS = 1000
MAX_SEARCH_LIMIT = 20


class _Arguments(BaseModel):
    # A misspelt argument is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class SearchMemoryArguments(_Arguments):
    project: UUID = Field(description="The project's id (from the jeex://projects resource).")
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for.")
    limit: int | None = Field(
        default=None, ge=1, le=MAX_SEARCH_LIMIT, description="At most this many chunks."
    )


class GetDocumentArguments(_Arguments):
    project: UUID = Field(description="The project's id.")
    type: DocumentType = Field(description="Which document.")
    version: int | None = Field(
        default=None, ge=1, description="A given version; default: the active (latest) one."
    )


class ProjectArguments(_Arguments):
    project: UUID = Field(description="The project's id.")


class GetItemArguments(_Arguments):
    project: UUID = Field(description="The project's id.")
    id: str = Field(pattern=ITEM_ID_PATTERN, description="The item's id, e.g. R-12 or T-3.")


class ItemResult(BaseModel):
    """One item of the active documents, what it serves and what serves it."""

    item: TraceNodeRead
    serves: list[TraceNodeRead] = Field(description="The items it serves that are still there.")
    served_by: list[TraceNodeRead]
    retired_targets: list[str] = Field(description="Items it serves that were retired.")
    stale: StaleRead | None = Field(description="Why it may disagree with what it serves.")


class ProjectList(BaseModel):
    projects: list[ProjectRead]


class MemorySearchResult(BaseModel):
    project_id: UUID
    query: str
    hits: list[MemoryHit] = Field(description="Best first; empty while the memory holds nothing.")


class DocumentResult(BaseModel):
    project_id: UUID
    document_type: DocumentType
    version: int
    active_version: int = Field(description="The document's latest version.")
    author_agent: str | None
    reason: str
    created_at: datetime
    content: str = Field(description="Markdown.")


class OpenQuestions(BaseModel):
    project_id: UUID
    stage: DocumentType = Field(description="The stage the project is in.")
    expert: str | None = Field(description="The expert who asked; null when nothing is asked.")
    questions: list[OpenQuestion] = Field(
        description="Awaiting the user's answer, in the chat's grammar (\"1.b, 2.c\" or text)."
    )


class ManifestDocument(ManifestFile):
    uri: str = Field(description="The resource holding this document's active version.")


class ProjectManifest(BaseModel):
    """The package as it stands: what an export would hold now, without building one."""

    format: Literal["jeex-idea-mcp-manifest/1"] = "jeex-idea-mcp-manifest/1"
    project: ProjectRead
    generated_at: datetime
    files: list[ManifestDocument] = Field(
        description="Every document in stage order, at the path an export puts it."
    )
