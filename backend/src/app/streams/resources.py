"""What the streams need from the application's resources (see :mod:`app.resources`)."""

from typing import Annotated, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.deps import get_resources
from app.events.publisher import EventPublisher
from app.events.streams import EventStreams
from app.projects.resources import ProjectResources


class StreamResources(ProjectResources, Protocol):
    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def events(self) -> EventPublisher: ...
    @property
    def event_streams(self) -> EventStreams: ...


StreamResourcesDep = Annotated[StreamResources, Depends(get_resources)]
