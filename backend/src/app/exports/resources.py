"""What the exports domain needs from the application's resources (see :mod:`app.resources`)."""

from typing import Annotated, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.deps import get_resources
from app.events.publisher import EventPublisher
from app.exports.storage import ExportStorage


class ExportResources(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def events(self) -> EventPublisher: ...
    @property
    def export_storage(self) -> ExportStorage: ...


ExportResourcesDep = Annotated[ExportResources, Depends(get_resources)]
