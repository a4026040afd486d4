from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
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


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunKind(StrEnum):
    MESSAGE = "message"
    STAGE_START = "stage_start"


class AgentExecution(UUIDPrimaryKey, Base):
    """A run: the agents' work on one user message (or on starting a stage)."""

    __tablename__ = "agent_execution"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed', 'cancelled')", name="status"
        ),
        CheckConstraint("kind IN ('message', 'stage_start')", name="kind"),
        # The worker takes a project's runs oldest first.
        Index("agent_execution_project_id_status_idx", "project_id", "status"),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    message_id: Mapped[UUID | None] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'queued'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cancel_requested: Mapped[bool] = mapped_column(server_default=text("false"))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The run's cursor: the protocol step it is at and what that step needs from the steps
    # before it. Written in the same transaction as each step's effect, so a run taken over
    # resumes where it stopped and no step is applied twice.
    step: Mapped[str | None] = mapped_column(String(32))
    carry: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    usage: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(1000))
    # The error's structured context, as an API error body would carry it (for a refused model
    # request: the provider's status and its scrubbed message).
    error_details: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConversationState(Base):
    """Where a project's conversation stands: its phase, and while questions are open, who
    asked them and what they asked (see ``conversation.protocol``)."""

    __tablename__ = "conversation_state"
    __table_args__ = (
        CheckConstraint(
            "phase IN ('awaiting_idea', 'awaiting_floor', 'awaiting_answers', 'stage_completed')",
            name="phase",
        ),
        # The floor and the open questions exist exactly while answers are awaited.
        CheckConstraint(
            "(phase = 'awaiting_answers') = (floor_agent IS NOT NULL"
            " AND pending_questions IS NOT NULL AND questions_message_id IS NOT NULL)",
            name="floor_with_questions",
        ),
    )

    project_id: Mapped[UUID] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    phase: Mapped[str] = mapped_column(String(32), server_default=text("'awaiting_idea'"))
    floor_agent: Mapped[str | None] = mapped_column(String(64))
    questions_message_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    pending_questions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    turns: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The stage document's latest version when the current stage (last) opened: the stage has
    # been written in once a later version exists.
    stage_base_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    spoken: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
