"""What the projects domain needs from the application's resources (see :mod:`app.resources`)."""

from typing import Annotated, Protocol

from fastapi import Depends
from redis.asyncio import Redis

from app.core.config import Settings
from app.core.deps import get_resources
from app.projects.scoping import AccessibleProjectID


class ProjectResources(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def redis(self) -> Redis: ...

    async def purge_project(self, project_id: AccessibleProjectID) -> None:
        """Remove what other domains keep of a deleted project outside its rows (Redis keys,
        memory, export archives). Wired above the domains, which projects may not import."""


ProjectResourcesDep = Annotated[ProjectResources, Depends(get_resources)]
