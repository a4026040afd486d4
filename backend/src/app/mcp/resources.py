"""What the MCP server needs from the application's resources (built in :mod:`app.resources`)."""

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.memory.store import MemoryStore
from app.projects.resources import ProjectResources


class McpResources(ProjectResources, Protocol):
    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def memory(self) -> MemoryStore: ...
