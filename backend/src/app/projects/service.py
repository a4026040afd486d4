from functools import partial
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import after_commit
from app.core.redis import project_key
from app.projects import repository as project_repository
from app.projects.access import defer_access_change
from app.projects.exceptions import (
    LastOwnerError,
    MemberNotFoundError,
    ProjectLimitError,
    ProjectNotFoundError,
)
from app.projects.memberships import renew_access
from app.projects.models import Project, ProjectMember, ProjectRole
from app.projects.resources import ProjectResources
from app.projects.schemas import (
    MemberRead,
    MemberUpdate,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)
from app.projects.scoping import ProjectContext
from app.projects.stages import DocumentType

_DELETE_BATCH = 500


def _read(project: Project, role: ProjectRole | str) -> ProjectRead:
    return ProjectRead(
        id=project.id,
        name=project.name,
        description=project.description,
        language=project.language,
        role=ProjectRole(role),
        current_stage=DocumentType(project.current_stage),
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


async def create_project(
    session: AsyncSession, owner_id: UUID, data: ProjectCreate, *, max_owned: int
) -> ProjectRead:
    # Each project brings its own token budget and queue: a user owns a bounded number.
    owned = await project_repository.count_owned(session, owner_id)
    if owned >= max_owned:
        raise ProjectLimitError(
            "You own as many projects as allowed; delete one to create another.",
            details={"limit": max_owned},
        )
    project = await project_repository.add_project(
        session, name=data.name, description=data.description, owner_id=owner_id
    )
    return _read(project, ProjectRole.OWNER)


async def list_projects(session: AsyncSession, user_id: UUID, *, limit: int) -> list[ProjectRead]:
    rows = await project_repository.list_for_user(session, user_id, limit=limit)
    return [ProjectRead.model_validate(row) for row in rows]


async def load_project(session: AsyncSession, context: ProjectContext) -> Project:
    """The project's row (its stage, language, name as they are now): 404 when it went since
    the guard let the request in."""
    project = await session.get(Project, context.project_id)
    if project is None:
        raise ProjectNotFoundError
    return project


async def read_project(session: AsyncSession, context: ProjectContext) -> ProjectRead:
    return _read(await load_project(session, context), context.role)


async def update_project(
    session: AsyncSession, context: ProjectContext, data: ProjectUpdate
) -> ProjectRead:
    project = await load_project(session, context)
    for field, value in data.model_dump(exclude_unset=True).items():
        if field == "name" and value is None:
            continue
        setattr(project, field, value)
    await session.flush()
    await session.refresh(project)
    return _read(project, context.role)


async def delete_project(
    session: AsyncSession, resources: ProjectResources, context: ProjectContext
) -> None:
    """Rows go with the transaction; what other domains keep of the project (Redis keys,
    memory, export archives) once it has committed, so a delete that fails to commit leaves the
    project whole."""
    await project_repository.delete_project(session, context.project_id)
    await session.flush()
    await renew_access(session, resources.redis, context.project_id)
    defer_access_change(session, context.project_id)
    after_commit(session, partial(resources.purge_project, context.project_id))


async def purge_project_keys(redis: "Redis", project_id: UUID) -> int:
    """Remove every ``proj:{project_id}:*`` key; returns how many went."""
    removed = 0
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=project_key(project_id, "*"), count=_DELETE_BATCH):
        batch.append(key)
        if len(batch) >= _DELETE_BATCH:
            removed += await redis.unlink(*batch)
            batch.clear()
    if batch:
        removed += await redis.unlink(*batch)
    return removed


async def list_members(session: AsyncSession, context: ProjectContext) -> list[MemberRead]:
    rows = await project_repository.list_members(session, context.project_id)
    return [
        MemberRead(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=ProjectRole(member.role),
            created_at=member.created_at,
        )
        for member, user in rows
    ]


async def change_role(
    session: AsyncSession,
    resources: ProjectResources,
    context: ProjectContext,
    user_id: UUID,
    data: MemberUpdate,
) -> MemberRead:
    member = await _existing_member(session, context, user_id)
    if member.role == ProjectRole.OWNER and data.role != ProjectRole.OWNER:
        await _keep_an_owner(session, context)
    member.role = data.role
    await session.flush()
    await renew_access(session, resources.redis, context.project_id)
    members = await list_members(session, context)
    return next(item for item in members if item.user_id == user_id)


async def remove_member(
    session: AsyncSession, resources: ProjectResources, context: ProjectContext, user_id: UUID
) -> None:
    member = await _existing_member(session, context, user_id)
    if member.role == ProjectRole.OWNER:
        await _keep_an_owner(session, context)
    await project_repository.remove_member(session, context.project_id, user_id)
    await renew_access(session, resources.redis, context.project_id)
    defer_access_change(session, context.project_id)


async def _existing_member(
    session: AsyncSession, context: ProjectContext, user_id: UUID
) -> ProjectMember:
    member = await project_repository.get_member(session, context.project_id, user_id)
    if member is None:
        raise MemberNotFoundError("No such member in this project.")
    return member


async def _keep_an_owner(session: AsyncSession, context: ProjectContext) -> None:
    if await project_repository.lock_owner_count(session, context.project_id) <= 1:
        raise LastOwnerError
