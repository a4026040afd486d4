from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
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


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # Never stored: a pending invitation past its expires_at reads as expired.
    EXPIRED = "expired"


class ProjectInvitation(UUIDPrimaryKey, Base):
    """An owner's offer of a role to an e-mail address, whoever it belongs to (if anyone).

    Nothing links it to a user until the holder of that verified address answers it, so an
    invitation says nothing about whether the address has an account."""

    __tablename__ = "project_invitation"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'editor', 'viewer')", name="role"),
        CheckConstraint("status IN ('pending', 'accepted', 'declined')", name="status"),
        # One open invitation per address and project: inviting again renews it.
        Index(
            "project_invitation_pending_key",
            "project_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("project_invitation_email_idx", "email"),
    )

    project_id: Mapped[UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    # Normalised (stripped, lower-cased) as users' e-mails are.
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    invited_by: Mapped[UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
