from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentCaller
from app.core.deps import SessionDep, SettingsDep, read_only
from app.core.errors import error_responses
from app.projects import invitations as invitation_service
from app.projects import service as project_service
from app.projects.dependencies import MemberRemoval, ProjectOwner, ProjectViewer
from app.projects.resources import ProjectResourcesDep
from app.projects.schemas import (
    InvitationRead,
    MemberAdd,
    MemberRead,
    MemberUpdate,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    ReceivedInvitationRead,
)

router = APIRouter(prefix="/projects", tags=["projects"])

_AUTH = error_responses(401)
_SCOPED = error_responses(401, 403, 404)
_SCOPED_CONFLICT = error_responses(401, 403, 404, 409)


@router.get("", response_model=list[ProjectRead], responses=_AUTH)
@read_only
async def list_projects(
    caller: CurrentCaller,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[ProjectRead]:
    """Projects the caller is a member of, most recently updated first."""
    return await project_service.list_projects(session, caller.user_id, limit=limit)


@router.post(
    "",
    response_model=ProjectRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 409),
)
async def create_project(
    data: ProjectCreate, caller: CurrentCaller, session: SessionDep, settings: SettingsDep
) -> ProjectRead:
    return await project_service.create_project(
        session, caller.user_id, data, max_owned=settings.quotas.projects_per_user
    )


@router.get("/{project_id}", response_model=ProjectRead, responses=_SCOPED)
@read_only
async def get_project(context: ProjectViewer, session: SessionDep) -> ProjectRead:
    return await project_service.read_project(session, context)


@router.patch("/{project_id}", response_model=ProjectRead, responses=_SCOPED)
async def update_project(
    data: ProjectUpdate, context: ProjectOwner, session: SessionDep
) -> ProjectRead:
    return await project_service.update_project(session, context, data)


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_SCOPED,
)
async def delete_project(
    context: ProjectOwner, session: SessionDep, resources: ProjectResourcesDep
) -> Response:
    """Delete the project and everything that belongs to it."""
    await project_service.delete_project(session, resources, context)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/members", response_model=list[MemberRead], responses=_SCOPED)
@read_only
async def list_members(context: ProjectViewer, session: SessionDep) -> list[MemberRead]:
    return await project_service.list_members(session, context)


@router.post(
    "/{project_id}/members",
    response_model=InvitationRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_SCOPED_CONFLICT,
)
async def add_member(
    data: MemberAdd, context: ProjectOwner, session: SessionDep, resources: ProjectResourcesDep
) -> InvitationRead:
    """Invite an e-mail address: the same answer whether or not it has an account. Its holder
    becomes a member on accepting (POST /invitations/{id}/accept); inviting it again renews the
    invitation. 409 for the address of a member."""
    return await invitation_service.invite(
        session, context, data, ttl_days=resources.settings.auth.invitation_ttl_days
    )


@router.patch(
    "/{project_id}/members/{user_id}",
    response_model=MemberRead,
    responses=_SCOPED_CONFLICT,
)
async def change_member_role(
    user_id: UUID,
    data: MemberUpdate,
    context: ProjectOwner,
    session: SessionDep,
    resources: ProjectResourcesDep,
) -> MemberRead:
    return await project_service.change_role(session, resources, context, user_id, data)


@router.delete(
    "/{project_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_SCOPED_CONFLICT,
)
async def remove_member(
    user_id: UUID, context: MemberRemoval, session: SessionDep, resources: ProjectResourcesDep
) -> Response:
    """Owners remove anyone; any member may leave. The last owner can do neither."""
    await project_service.remove_member(session, resources, context, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{project_id}/invitations",
    response_model=list[InvitationRead],
    responses=_SCOPED,
)
async def list_invitations(context: ProjectOwner, session: SessionDep) -> list[InvitationRead]:
    """The project's invitations, newest first: pending, expired, accepted or declined."""
    return await invitation_service.list_project_invitations(session, context)


@router.delete(
    "/{project_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_SCOPED,
)
async def withdraw_invitation(
    invitation_id: UUID, context: ProjectOwner, session: SessionDep
) -> Response:
    await invitation_service.withdraw(session, context, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# The invitee's side: not a member yet, so outside /projects/{project_id} and its guard.
invitations_router = APIRouter(prefix="/invitations", tags=["invitations"])


@invitations_router.get("", response_model=list[ReceivedInvitationRead], responses=_AUTH)
async def list_received_invitations(
    caller: CurrentCaller, session: SessionDep
) -> list[ReceivedInvitationRead]:
    """Open invitations to the caller's verified account e-mail, newest first."""
    return await invitation_service.list_received(session, caller.user_id)


_ANSWER = error_responses(401, 404)


@invitations_router.post(
    "/{invitation_id}/accept", response_model=ReceivedInvitationRead, responses=_ANSWER
)
async def accept_invitation(
    invitation_id: UUID, caller: CurrentCaller, session: SessionDep
) -> ReceivedInvitationRead:
    """Become a member with the invited role; the project then appears in GET /projects."""
    return await invitation_service.answer(session, caller.user_id, invitation_id, accept=True)


@invitations_router.post(
    "/{invitation_id}/decline", response_model=ReceivedInvitationRead, responses=_ANSWER
)
async def decline_invitation(
    invitation_id: UUID, caller: CurrentCaller, session: SessionDep
) -> ReceivedInvitationRead:
    return await invitation_service.answer(session, caller.user_id, invitation_id, accept=False)


# What the app mounts (app.main): the project routes and the invitee's, side by side.
project_routes = router
router = APIRouter()
router.include_router(project_routes)
router.include_router(invitations_router)
