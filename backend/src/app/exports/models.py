from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UUIDPrimaryKey


class ExportStatus(StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class Export(UUIDPrimaryKey, Base):
    """One requested archive. What it holds is fixed when it is requested: the version of each
    document that was active then, so edits made while it builds never leak in."""

    __tablename__ = "export"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'building', 'ready', 'failed', 'expired')", name="status"
        ),
        Index("export_project_id_created_at_idx", "project_id", "created_at"),
        # The cleanup's two questions: which ready archives expired, which builds never ended.
        Index("export_status_expires_at_idx", "status", "expires_at"),
        Index("export_requested_by_idx", "requested_by"),
        CheckConstraint(
            "format IN ('jeex', 'agents', 'spec-kit', 'kiro', 'openspec')", name="format"
        ),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    requested_by: Mapped[UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'queued'"))
    # The layout (ExportFormat); part of what makes two requests the same export.
    format: Mapped[str] = mapped_column(String(16), server_default=text("'jeex'"))
    # {document_type: version} of the documents that existed at request time.
    document_versions: Mapped[dict[str, int]] = mapped_column(JSONB)
    # The project as it was named then: the archive's folder and file name come from it.
    project_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(2))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    archive_bytes: Mapped[int | None] = mapped_column(BigInteger)
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set by the first build attempt and kept: every attempt packs the same bytes.
    generated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
