"""Invitations: how someone becomes a member of a project.

An owner invites an e-mail address; whoever holds that verified address (now, or after signing
up with it) sees the invitation and accepts or declines it. Inviting answers the same for every
address and does the same database work for each: no user is looked up, so neither the answer
nor its timing tells whether the address has an account, and nobody finds a project in their
list that they did not accept.
"""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.projects import invitation_repository
from app.projects.exceptions import InvitationNotFoundError, MemberAlreadyExistsError
from app.projects.models import InvitationStatus, ProjectInvitation, ProjectRole
from app.projects.schemas import InvitationRead, MemberAdd, ReceivedInvitationRead
from app.projects.scoping import ProjectContext
from app.users import repository as user_repository
from app.users.service import normalise_email

_LIST_LIMIT = 200


def _now() -> datetime:
    return datetime.now(UTC)


def _status(invitation: ProjectInvitation, now: datetime) -> InvitationStatus:
    if invitation.status == InvitationStatus.PENDING and invitation.expires_at <= now:
        return InvitationStatus.EXPIRED
    return InvitationStatus(invitation.status)


def _read(invitation: ProjectInvitation, now: datetime) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=ProjectRole(invitation.role),
        status=_status(invitation, now),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


def _received(
    invitation: ProjectInvitation, project_name: str, now: datetime
) -> ReceivedInvitationRead:
    return ReceivedInvitationRead(
        **_read(invitation, now).model_dump(),
        project_id=invitation.project_id,
        project_name=project_name,
    )


async def invite(
    session: AsyncSession, context: ProjectContext, data: MemberAdd, *, ttl_days: int
) -> InvitationRead:
    """Open (or renew) the project's invitation to ``data.email``. A member's own address is
    refused (409): the owner sees members' addresses in the member list already."""
    email = normalise_email(data.email)
    if await invitation_repository.has_member_with_email(session, context.project_id, email):
        raise MemberAlreadyExistsError("This address belongs to a member of the project.")
    now = _now()
    invitation = await invitation_repository.upsert_pending(
        session,
        context.project_id,
        email=email,
        role=data.role,
        invited_by=context.user_id,
        expires_at=now + timedelta(days=ttl_days),
    )
    return _read(invitation, now)


async def list_project_invitations(
    session: AsyncSession, context: ProjectContext
) -> list[InvitationRead]:
    now = _now()
    rows = await invitation_repository.list_for_project(
        session, context.project_id, limit=_LIST_LIMIT
    )
    return [_read(invitation, now) for invitation in rows]


async def withdraw(session: AsyncSession, context: ProjectContext, invitation_id: UUID) -> None:
    if not await invitation_repository.delete_invitation(
        session, context.project_id, invitation_id
    ):
        raise InvitationNotFoundError


async def _verified_email(session: AsyncSession, user_id: UUID) -> str | None:
    """The caller's account e-mail: set only from a provider that verified it, or by an
    operator (``jeex-idea users create``)."""
    user = await user_repository.get_by_id(session, user_id)
    return None if user is None or user.email is None else normalise_email(user.email)


async def list_received(session: AsyncSession, user_id: UUID) -> list[ReceivedInvitationRead]:
    email = await _verified_email(session, user_id)
    if email is None:
        return []
    now = _now()
    rows = await invitation_repository.list_received(session, email, now)
    return [_received(invitation, name, now) for invitation, name in rows]


async def answer(
    session: AsyncSession, user_id: UUID, invitation_id: UUID, *, accept: bool
) -> ReceivedInvitationRead:
    """Accept (become a member with the invited role) or decline; 404 for an invitation that
    is not the caller's, not open, or expired, alike."""
    email = await _verified_email(session, user_id)
    now = _now()
    found = (
        None
        if email is None
        else await invitation_repository.lock_received(session, invitation_id, email, now)
    )
    if found is None:
        raise InvitationNotFoundError
    invitation, project_name = found
    if accept:
        await invitation_repository.join_from_invitation(session, invitation, user_id)
    invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    invitation.responded_at = now
    await session.flush()
    return _received(invitation, project_name, now)
