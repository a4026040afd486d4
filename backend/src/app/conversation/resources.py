"""What the conversation needs from the application's resources (see :mod:`app.resources`)."""

from typing import Annotated, Protocol

from fastapi import Depends
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.deps import get_resources
from app.events.publisher import EventPublisher
from app.memory.store import MemoryStore


class ConversationResources(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def redis(self) -> Redis: ...
    @property
    def events(self) -> EventPublisher: ...
    @property
    def memory(self) -> MemoryStore: ...


ConversationResourcesDep = Annotated[ConversationResources, Depends(get_resources)]
