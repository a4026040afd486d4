"""The one guard between a request and a project's data."""

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import Depends

from app.auth.dependencies import CurrentCaller
from app.core.deps import SessionDep
from app.core.rate_limit import Limit, enforce
from app.core.redis import project_key
from app.projects import repository as project_repository
from app.projects.exceptions import InsufficientRoleError, ProjectNotFoundError
from app.projects.models import ROLE_RANK, ProjectRole
from app.projects.resources import ProjectResourcesDep
from app.projects.scoping import AccessibleProjectID, ProjectContext


async def get_project_context(
    project_id: UUID, caller: CurrentCaller, session: SessionDep, resources: ProjectResourcesDep
) -> ProjectContext:
    """404 for anyone who is not a member, whether or not the project exists.

    Members are counted one by one, per (project, user), and there is no bucket they share: no
    member's traffic, however heavy, can make another member (an owner managing members
    included) see 429. Each user's own total is bounded by the per-user limit of get_caller.
    """
    membership = await project_repository.get_membership(session, project_id, caller.user_id)
    if membership is None:
        raise ProjectNotFoundError
    await enforce(
        resources.redis,
        Limit(
            scope="project",
            key=project_key(project_id, "rl", "user", str(caller.user_id)),
            per_window=resources.settings.rate_limits.project_per_window,
            window_seconds=resources.settings.rate_limits.window_seconds,
        ),
    )
    project, role = membership
    return ProjectContext(
        project_id=AccessibleProjectID(project_id),
        project=project,
        role=ProjectRole(role),
        user_id=caller.user_id,
    )


def require_role(minimum: ProjectRole) -> Callable[..., Awaitable[ProjectContext]]:
    """A dependency admitting members of at least ``minimum``; fetched first, so non-members
    get 404 before anyone gets 403."""

    async def dependency(
        context: Annotated[ProjectContext, Depends(get_project_context)],
    ) -> ProjectContext:
        if ROLE_RANK[context.role] < ROLE_RANK[minimum]:
            raise InsufficientRoleError(f"This needs the {minimum} role in the project.")
        return context

    # Read by the role matrix test, which checks every project route declares one of these.
    dependency.minimum_role = minimum  # type: ignore[attr-defined]
    return dependency


ProjectViewer = Annotated[ProjectContext, Depends(require_role(ProjectRole.VIEWER))]
ProjectEditor = Annotated[ProjectContext, Depends(require_role(ProjectRole.EDITOR))]
ProjectOwner = Annotated[ProjectContext, Depends(require_role(ProjectRole.OWNER))]


async def member_removal_context(user_id: UUID, context: ProjectViewer) -> ProjectContext:
    """Owners remove anyone; every member may remove themselves (leave)."""
    if user_id != context.user_id and context.role is not ProjectRole.OWNER:
        raise InsufficientRoleError("Only an owner can remove other members.")
    return context


member_removal_context.minimum_role = ProjectRole.OWNER  # type: ignore[attr-defined]
MemberRemoval = Annotated[ProjectContext, Depends(member_removal_context)]
