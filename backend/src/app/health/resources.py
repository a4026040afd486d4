"""What the readiness check needs from the application's resources (see :mod:`app.resources`)."""

from typing import Annotated, Protocol

from fastapi import Depends
from qdrant_client import AsyncQdrantClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.deps import get_resources


class HealthResources(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def redis(self) -> Redis: ...
    @property
    def qdrant(self) -> AsyncQdrantClient: ...


HealthResourcesDep = Annotated[HealthResources, Depends(get_resources)]
