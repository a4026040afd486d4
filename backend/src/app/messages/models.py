from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UUIDPrimaryKey


class MessageRole(StrEnum):
    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    QUESTIONS = "questions"
    SECTION = "section"
    NOTICE = "notice"
    ERROR = "error"


class Message(UUIDPrimaryKey, Base):
    """One entry of a project's chat log. Ids are UUID v7, so their order is the log's order."""

    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'agent', 'system')", name="role"),
        CheckConstraint("kind IN ('text', 'questions', 'section', 'notice', 'error')", name="kind"),
        Index("message_project_id_id_idx", "project_id", "id"),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    author_user_id: Mapped[UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    author_agent: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
