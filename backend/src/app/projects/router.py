from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentCaller
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import error_responses
from app.projects import service as project_service
from app.projects.dependencies import MemberRemoval, ProjectOwner, ProjectViewer
from app.projects.resources import ProjectResourcesDep
from app.projects.schemas import (
    MemberAdd,
    MemberRead,
    MemberUpdate,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)

router = APIRouter(prefix="/projects", tags=["projects"])

_AUTH = error_responses(401)
_SCOPED = error_responses(401, 403, 404)
_SCOPED_CONFLICT = error_responses(401, 403, 404, 409)


@router.get("", response_model=list[ProjectRead], responses=_AUTH)
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
async def get_project(context: ProjectViewer) -> ProjectRead:
    return project_service.read_project(context)


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
async def list_members(context: ProjectViewer, session: SessionDep) -> list[MemberRead]:
    return await project_service.list_members(session, context)


@router.post(
    "/{project_id}/members",
    response_model=MemberRead,
    status_code=status.HTTP_201_CREATED,
    responses=_SCOPED_CONFLICT,
)
async def add_member(data: MemberAdd, context: ProjectOwner, session: SessionDep) -> MemberRead:
    """Add an existing user by email."""
    return await project_service.add_member(session, context, data)


@router.patch(
    "/{project_id}/members/{user_id}",
    response_model=MemberRead,
    responses=_SCOPED_CONFLICT,
)
async def change_member_role(
    user_id: UUID, data: MemberUpdate, context: ProjectOwner, session: SessionDep
) -> MemberRead:
    return await project_service.change_role(session, context, user_id, data)


@router.delete(
    "/{project_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_SCOPED_CONFLICT,
)
async def remove_member(user_id: UUID, context: MemberRemoval, session: SessionDep) -> Response:
    """Owners remove anyone; any member may leave. The last owner can do neither."""
    await project_service.remove_member(session, context, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
