"""Invitation data access.

An owner's side takes the ``AccessibleProjectID`` of the guard, as every project query does. The
invitee's side cannot: they are not a member yet. It is keyed instead by the caller's own verified
e-mail, which only the invitation's addressee holds.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Row, delete, exists, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.projects.models import (
    InvitationStatus,
    Project,
    ProjectInvitation,
    ProjectMember,
    ProjectRole,
)
from app.projects.scoping import AccessibleProjectID
from app.users.models import User

_PENDING = ProjectInvitation.status == InvitationStatus.PENDING
# The partial index's own predicate, as a literal: with a bound parameter, PostgreSQL cannot
# match it to the index once asyncpg's prepared statement turns generic (after 5 runs).
_PENDING_INDEX_PREDICATE = text("status = 'pending'")


async def has_member_with_email(
    session: AsyncSession, project_id: AccessibleProjectID, email: str
) -> bool:
    """Whether a member of the project has this e-mail: one indexed query, the same for every
    address, and it tells the owner only what the member list already shows them."""
    result = await session.execute(
        select(
            exists()
            .where(ProjectMember.project_id == project_id)
            .where(ProjectMember.user_id == User.id)
            .where(User.email == email)
        )
    )
    return bool(result.scalar_one())


async def upsert_pending(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    *,
    email: str,
    role: ProjectRole,
    invited_by: UUID,
    expires_at: datetime,
) -> ProjectInvitation:
    """The project's open invitation to ``email``, made or renewed (role, expiry) in one
    statement, so concurrent invitations of one address leave one row."""
    statement = (
        insert(ProjectInvitation)
        .values(
            project_id=project_id,
            email=email,
            role=role,
            invited_by=invited_by,
            expires_at=expires_at,
        )
        .on_conflict_do_update(
            index_elements=[ProjectInvitation.project_id, ProjectInvitation.email],
            index_where=_PENDING_INDEX_PREDICATE,
            set_={"role": role, "invited_by": invited_by, "expires_at": expires_at},
        )
        .returning(ProjectInvitation)
    )
    result = await session.execute(
        select(ProjectInvitation)
        .from_statement(statement)
        .execution_options(populate_existing=True)
    )
    invitation: ProjectInvitation = result.scalar_one()
    return invitation


async def list_for_project(
    session: AsyncSession, project_id: AccessibleProjectID, *, limit: int
) -> list[ProjectInvitation]:
    result = await session.execute(
        select(ProjectInvitation)
        .where(ProjectInvitation.project_id == project_id)
        .order_by(ProjectInvitation.created_at.desc(), ProjectInvitation.id.desc())
        .limit(limit)
    )
    return list(result.scalars())


async def delete_invitation(
    session: AsyncSession, project_id: AccessibleProjectID, invitation_id: UUID
) -> bool:
    result = await session.execute(
        delete(ProjectInvitation)
        .where(ProjectInvitation.project_id == project_id, ProjectInvitation.id == invitation_id)
        .returning(ProjectInvitation.id)
    )
    return result.scalar_one_or_none() is not None


async def list_received(
    session: AsyncSession, email: str, at: datetime
) -> list[Row[tuple[ProjectInvitation, str]]]:
    """Open invitations addressed to ``email``, with their project's name, newest first."""
    result = await session.execute(
        select(ProjectInvitation, Project.name)
        .join(Project, Project.id == ProjectInvitation.project_id)
        .where(ProjectInvitation.email == email, _PENDING, ProjectInvitation.expires_at > at)
        .order_by(ProjectInvitation.created_at.desc(), ProjectInvitation.id.desc())
    )
    return list(result.all())


async def lock_received(
    session: AsyncSession, invitation_id: UUID, email: str, at: datetime
) -> tuple[ProjectInvitation, str] | None:
    """An open invitation to ``email``, locked until the answer commits (two answers at once
    are served one after the other), with its project's name; None for anyone else's."""
    result = await session.execute(
        select(ProjectInvitation, Project.name)
        .join(Project, Project.id == ProjectInvitation.project_id)
        .where(
            ProjectInvitation.id == invitation_id,
            ProjectInvitation.email == email,
            _PENDING,
            ProjectInvitation.expires_at > at,
        )
        .with_for_update(of=ProjectInvitation)
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])


async def join_from_invitation(
    session: AsyncSession, invitation: ProjectInvitation, user_id: UUID
) -> None:
    """Make the addressee of a locked, open invitation a member; one who already is keeps the
    role they have."""
    await session.execute(
        insert(ProjectMember)
        .values(project_id=invitation.project_id, user_id=user_id, role=invitation.role)
        .on_conflict_do_nothing(index_elements=[ProjectMember.project_id, ProjectMember.user_id])
    )
