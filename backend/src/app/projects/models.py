from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Timestamps, UUIDPrimaryKey


class ProjectRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


ROLE_RANK = {ProjectRole.VIEWER: 1, ProjectRole.EDITOR: 2, ProjectRole.OWNER: 3}


class Project(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "project"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # ISO 639-1, written once by the conversation engine from the first message.
    language: Mapped[str | None] = mapped_column(String(2))
    current_stage: Mapped[str] = mapped_column(String(16), server_default=text("'idea'"))

    __table_args__ = (
        CheckConstraint(
            "current_stage IN ('idea', 'specs', 'architecture', 'plan')", name="current_stage"
        ),
    )


class StageStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class ProjectStage(Base):
    """One row per stage of every project, created with the project."""

    __tablename__ = "project_stage"
    __table_args__ = (
        CheckConstraint("stage IN ('idea', 'specs', 'architecture', 'plan')", name="stage"),
        CheckConstraint("status IN ('not_started', 'in_progress', 'completed')", name="status"),
    )

    project_id: Mapped[UUID] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'not_started'"))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProjectMember(Timestamps, Base):
    __tablename__ = "project_member"
    __table_args__ = (CheckConstraint("role IN ('owner', 'editor', 'viewer')", name="role"),)

    project_id: Mapped[UUID] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
