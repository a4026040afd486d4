"""The one guard between a request and a project's data."""

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import BearerDep, admit_bearer
from app.auth.principals import Caller
from app.auth.service import Metering, MeteringOf
from app.core.deps import SessionDep
from app.core.rate_limit import Limit
from app.core.redis import project_key
from app.projects import repository as project_repository
from app.projects.exceptions import InsufficientRoleError, ProjectNotFoundError
from app.projects.memberships import access_stamp
from app.projects.models import ROLE_RANK, ProjectRole
from app.projects.resources import ProjectResources, ProjectResourcesDep
from app.projects.scoping import AccessibleProjectID, ProjectContext


def member_metering(resources: ProjectResources, project_id: UUID) -> MeteringOf:
    """Members are counted one by one, per (project, user), and there is no bucket they share:
    no member's traffic, however heavy, can make another member (an owner managing members
    included) see 429. Each user's own total is bounded by the per-user limit. The project's
    access stamp is read alongside."""
    limits = resources.settings.rate_limits
    stamp = access_stamp(project_id)

    def of(user_id: UUID) -> Metering:
        member = Limit(
            scope="project",
            key=project_key(project_id, "rl", "user", str(user_id)),
            per_window=limits.project_per_window,
            window_seconds=limits.window_seconds,
        )
        return Metering(limits=[member], stamps=[stamp])

    return of


async def get_project_context(
    project_id: UUID, session: SessionDep, resources: ProjectResourcesDep, bearer: BearerDep
) -> ProjectContext:
    """404 for anyone who is not a member, whether or not the project exists. The caller's
    own limit and their limit in this project are counted in one round trip, which also reads
    what lets a membership this replica read recently stand without a query."""
    admission = await admit_bearer(
        session,
        resources,
        bearer.credentials if bearer is not None else None,
        also=member_metering(resources, project_id),
    )
    (stamp,) = admission.stamps
    return await member_context(session, resources, project_id, admission.caller, stamp)


async def admit_member(
    session: AsyncSession, resources: ProjectResources, project_id: UUID, caller: Caller
) -> ProjectContext:
    """The guard for a caller already authenticated elsewhere (a stream ticket, an MCP
    session's request): their limit in the project counted, then their membership checked."""
    metered = member_metering(resources, project_id)(caller.user_id)
    (stamp,) = await resources.rate_limiter.enforce(metered.limits, stamps=metered.stamps)
    return await member_context(session, resources, project_id, caller, stamp)


async def member_context(
    session: AsyncSession,
    resources: ProjectResources,
    project_id: UUID,
    caller: Caller,
    access: str,
) -> ProjectContext:
    """The caller's membership, remembered under the project's access stamp ``access`` (read
    before the row, as :mod:`app.projects.memberships` requires) or read and remembered."""
    key = (project_id, caller.user_id)
    known = resources.memberships.get(key)
    if known is not None and known.stamp == access:
        role = known.value
    else:
        found = await project_repository.get_role(session, project_id, caller.user_id)
        if found is None:
            raise ProjectNotFoundError
        role = ProjectRole(found)
        resources.memberships.remember(key, role, stamp=access)
    return ProjectContext(
        project_id=AccessibleProjectID(project_id), role=role, user_id=caller.user_id
    )


def require_role(minimum: ProjectRole) -> Callable[..., Awaitable[ProjectContext]]:
    """A dependency admitting members of at least ``minimum``; membership is checked first, so
    non-members get 404 before anyone gets 403. The guard itself, not a layer over it: every
    project request solves it, and each dependency level costs FastAPI a solve."""

    async def dependency(
        project_id: UUID, request: Request, session: SessionDep, bearer: BearerDep
    ) -> ProjectContext:
        # The resources from the request, not through get_resources: one solve fewer on every
        # project request.
        resources: ProjectResources = request.app.state.resources
        context = await get_project_context(project_id, session, resources, bearer)
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
