from pydantic import BaseModel, Field

from app.documents.sections import ItemKind
from app.documents.tracing.graph import GapKind
from app.projects.stages import DocumentType

ITEM_ID_PATTERN = r"^[GRCDTM]-[1-9][0-9]{0,5}$"


class StaleRead(BaseModel):
    item: str = Field(pattern=ITEM_ID_PATTERN)
    document_type: DocumentType
    cause_document_type: DocumentType = Field(description="The document whose change caused it.")
    cause_version: int = Field(description="The version of that document that changed it.")
    cause_items: list[str] = Field(description="The changed or retired items it serves.")


class TraceNodeRead(BaseModel):
    id: str = Field(pattern=ITEM_ID_PATTERN, description="e.g. `R-12`; never given twice.")
    kind: ItemKind = Field(description="The id's prefix: G, R, C, D, T or M.")
    document_type: DocumentType
    version: int = Field(description="The active version it was read from.")
    section: str = Field(description="The key of the section that lists it.")
    text: str = Field(description="Its words, without its id and links.")
    links: list[str] = Field(description="The items it serves.")
    stale: bool


class TraceLinkRead(BaseModel):
    source: str = Field(description="The item that serves, e.g. `C-4`.")
    target: str = Field(description="The item it serves, e.g. `R-12`.")
    retired: bool = Field(description="The target is no longer in its document.")


class TraceGapRead(BaseModel):
    kind: GapKind
    item: str
    target: str | None = Field(default=None, description="With `retired_link`: the target.")


class TraceRead(BaseModel):
    """The items of the active versions, their links, what they lack and what went stale."""

    nodes: list[TraceNodeRead]
    links: list[TraceLinkRead]
    gaps: list[TraceGapRead]
    stale: list[StaleRead]
    retired: list[str] = Field(description="Every id retired so far; none is given out again.")
