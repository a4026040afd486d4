from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UUIDPrimaryKey

_DOCUMENT_TYPES = "document_type IN ('idea', 'specs', 'architecture', 'plan')"


class TraceItem(UUIDPrimaryKey, Base):
    """Every item id a project has given out: the number of a kind is never given twice."""

    __tablename__ = "trace_item"
    __table_args__ = (
        UniqueConstraint("project_id", "item_id", name="trace_item_id_key"),
        CheckConstraint(_DOCUMENT_TYPES, name="document_type"),
        CheckConstraint("item_id ~ '^[GRCDTM]-[1-9][0-9]{0,5}$'", name="item_id_format"),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(8))
    document_type: Mapped[str] = mapped_column(String(16))
    created_version: Mapped[int] = mapped_column(Integer)
    retired_version: Mapped[int | None] = mapped_column(Integer)
    """The version of its document that dropped it; None while it is in the active version."""


class StaleItem(UUIDPrimaryKey, Base):
    """An item of a later document that links to something changed since it was written."""

    __tablename__ = "trace_stale"
    __table_args__ = (
        UniqueConstraint("project_id", "item_id", name="trace_stale_item_key"),
        CheckConstraint(_DOCUMENT_TYPES, name="document_type"),
        CheckConstraint(
            "cause_document_type IN ('idea', 'specs', 'architecture', 'plan')",
            name="cause_document_type",
        ),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(8))
    document_type: Mapped[str] = mapped_column(String(16))
    cause_document_type: Mapped[str] = mapped_column(String(16))
    cause_version: Mapped[int] = mapped_column(Integer)
    cause_items: Mapped[list[str]] = mapped_column(ARRAY(String(8)))
    """The changed (or retired) items it links to."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
