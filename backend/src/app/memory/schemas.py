from pydantic import BaseModel, ConfigDict, Field

from app.memory.constants import MemorySource
from app.projects.stages import DocumentType


class MemoryHit(BaseModel):
    """One chunk of the project's memory that matched a search."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The chunk, starting with the trail of headings above it.")
    score: float = Field(description="Cosine similarity to the query: higher is closer.")
    source: MemorySource
    document_type: DocumentType | None = Field(
        description="The document (or the stage a section or message belongs to), if any."
    )
    version: int | None = Field(description="The document version; None for other sources.")
    heading: str | None = Field(description='Headings above the chunk, e.g. "Goals > KPIs".')


class IndexResult(BaseModel):
    """What one indexing call did."""

    model_config = ConfigDict(frozen=True)

    chunks: int = Field(description="Chunks written (after de-duplication).")
    embedded: int = Field(description="Chunks embedded now; the rest reused stored vectors.")
    skipped: bool = Field(
        default=False,
        description="True when nothing was written because a newer version exists already.",
    )
