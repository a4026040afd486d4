"""Project data access. Every function that reads or writes a project's rows takes an
``AccessibleProjectID``, which only the access guard hands out."""

from uuid import UUID

from sqlalchemy import Row, RowMapping, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.projects.models import Project, ProjectMember, ProjectRole, ProjectStage
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import STAGE_ORDER
from app.users.models import User

# Built once: these run on every project request (the guard) and every project list, and
# building a statement costs more than compiling it from SQLAlchemy's cache. The two that
# return columns name table columns, not mapped attributes: a Core statement goes past the
# ORM's compile and row-loading steps.
_project = Project.__table__.c
_member = ProjectMember.__table__.c
_MEMBERSHIP = (
    select(Project, ProjectMember.role)
    .join(ProjectMember, ProjectMember.project_id == Project.id)
    .where(Project.id == bindparam("project_id"), ProjectMember.user_id == bindparam("user_id"))
)


async def get_membership(
    session: AsyncSession, project_id: UUID, user_id: UUID
) -> tuple[Project, str] | None:
    """The project and the user's role in it, or None when either is missing: one query, so a
    non-member learns nothing about whether the project exists."""
    result = await session.execute(_MEMBERSHIP, {"project_id": project_id, "user_id": user_id})
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])


_ROLE = select(_member.role).where(
    _member.project_id == bindparam("project_id"), _member.user_id == bindparam("user_id")
)


async def get_role(session: AsyncSession, project_id: UUID, user_id: UUID) -> str | None:
    """The user's role in the project, or None when either is missing (a membership row goes
    with its project: ON DELETE CASCADE), so a non-member learns nothing about whether the
    project exists."""
    result = await session.execute(_ROLE, {"project_id": project_id, "user_id": user_id})
    role: str | None = result.scalar_one_or_none()
    return role


async def add_project(
    session: AsyncSession, *, name: str, description: str | None, owner_id: UUID
) -> Project:
    project = Project(name=name, description=description)
    session.add(project)
    await session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=owner_id, role=ProjectRole.OWNER))
    session.add_all(ProjectStage(project_id=project.id, stage=stage) for stage in STAGE_ORDER)
    await session.flush()
    await session.refresh(project)
    return project


async def count_owned(session: AsyncSession, user_id: UUID) -> int:
    """Projects the user owns, counted under a lock on the user's row: two creations at once
    cannot both pass the cap."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    result = await session.execute(
        select(func.count())
        .select_from(ProjectMember)
        .where(ProjectMember.user_id == user_id, ProjectMember.role == ProjectRole.OWNER)
    )
    return int(result.scalar_one())


_LIST_FOR_USER = (
    select(
        _project.id,
        _project.name,
        _project.description,
        _project.language,
        _member.role,
        _project.current_stage,
        _project.created_at,
        _project.updated_at,
    )
    .select_from(Project.__table__.join(ProjectMember.__table__, _member.project_id == _project.id))
    .where(_member.user_id == bindparam("user_id"))
    .order_by(_project.updated_at.desc(), _project.id.desc())
    .limit(bindparam("limit"))
)


async def list_for_user(session: AsyncSession, user_id: UUID, *, limit: int) -> list[RowMapping]:
    """The user's projects with their role, most recently updated first, as columns named like
    ``ProjectRead``'s fields."""
    result = await session.execute(_LIST_FOR_USER, {"user_id": user_id, "limit": limit})
    return list(result.mappings())


async def get_project(session: AsyncSession, project_id: AccessibleProjectID) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise LookupError(project_id)
    return project


async def project_language(session: AsyncSession, project_id: AccessibleProjectID) -> str | None:
    """The project's language, read from the database rather than the session's identity map:
    it is written once, possibly by another session. LookupError when the project is gone."""
    result = await session.execute(select(Project.language).where(Project.id == project_id))
    row = result.one_or_none()
    if row is None:
        raise LookupError(project_id)
    language: str | None = row[0]
    return language


async def delete_project(session: AsyncSession, project_id: AccessibleProjectID) -> None:
    await session.execute(delete(Project).where(Project.id == project_id))


async def list_members(
    session: AsyncSession, project_id: AccessibleProjectID
) -> list[Row[tuple[ProjectMember, User]]]:
    result = await session.execute(
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(ProjectMember.created_at, ProjectMember.user_id)
    )
    return list(result.all())


async def get_member(
    session: AsyncSession, project_id: AccessibleProjectID, user_id: UUID
) -> ProjectMember | None:
    result = await session.execute(
        select(ProjectMember)
        .where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def remove_member(
    session: AsyncSession, project_id: AccessibleProjectID, user_id: UUID
) -> None:
    await session.execute(
        delete(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


async def lock_owner_count(session: AsyncSession, project_id: AccessibleProjectID) -> int:
    # Locking the owners' rows serialises concurrent demotions: two owners demoting each other
    # at once cannot leave the project with none.
    result = await session.execute(
        select(ProjectMember.user_id)
        .where(
            ProjectMember.project_id == project_id,
            ProjectMember.role == ProjectRole.OWNER,
        )
        .with_for_update()
    )
    return len(result.all())


async def touch_project(session: AsyncSession, project_id: AccessibleProjectID) -> None:
    project = await get_project(session, project_id)
    project.updated_at = func.now()
