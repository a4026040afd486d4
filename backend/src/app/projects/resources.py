"""What the projects domain needs from the application's resources (see :mod:`app.resources`)."""

from typing import Annotated, Protocol

from fastapi import Depends

from app.auth.resources import AuthResources
from app.core.deps import get_resources
from app.projects.memberships import MembershipCache
from app.projects.scoping import AccessibleProjectID


class ProjectResources(AuthResources, Protocol):
    """Every project route is authenticated first: what auth needs, and what projects add."""

    @property
    def memberships(self) -> MembershipCache: ...

    async def purge_project(self, project_id: AccessibleProjectID) -> None:
        """Remove what other domains keep of a deleted project outside its rows (Redis keys,
        memory, export archives). Wired above the domains, which projects may not import."""


ProjectResourcesDep = Annotated[ProjectResources, Depends(get_resources)]
