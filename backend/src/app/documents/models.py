from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UUIDPrimaryKey


class DocumentVersion(UUIDPrimaryKey, Base):
    """An immutable version of one of a project's documents; the latest is the active one."""

    __tablename__ = "document_version"
    __table_args__ = (
        # Linear history: two writers racing for the same next number cannot both win.
        UniqueConstraint(
            "project_id", "document_type", "version", name="document_version_number_key"
        ),
        CheckConstraint(
            "document_type IN ('idea', 'specs', 'architecture', 'plan')", name="document_type"
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("(author_user_id IS NULL) <> (author_agent IS NULL)", name="one_author"),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    document_type: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    author_agent: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(1000))
    source_message_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(Uuid()), server_default=text("'{}'")
    )
    parent_version: Mapped[int | None] = mapped_column(Integer)
    trace_items: Mapped[list[dict[str, object]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    """The version's traceable items (id, section, text, links), read when it was written."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
