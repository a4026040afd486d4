"""Reusable request dependencies, exposed as ``Annotated`` aliases.

The application's long-lived clients are built by the composition root (:mod:`app.resources`)
and kept on ``app.state.resources``. Core knows none of the domains' clients: a domain states
what it needs as a ``Protocol`` and reads it through :func:`get_resources`, e.g.
``Annotated[ExportResources, Depends(get_resources)]``.
"""

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from redis.asyncio import Redis
from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import read_only_unit_of_work, unit_of_work


async def get_resources(request: Request) -> Any:
    # async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a hop to
    # another thread and back on every request for one attribute read.
    return request.app.state.resources


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.resources.settings
    return settings


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.resources.redis
    return redis


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]


_READ_ONLY_ROUTE = "read_only_unit_of_work"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def read_only(endpoint: Endpoint) -> Endpoint:
    """Mark a route whose request only reads: its session runs each statement on its own,
    without BEGIN and COMMIT. Writing ORM changes from it raises; a lone UPDATE (a personal
    token's "last used", noted while authenticating) commits by itself."""
    setattr(endpoint, _READ_ONLY_ROUTE, True)
    return endpoint


def route_is_read_only(request: Request) -> bool:
    route = request.scope.get("route")
    return getattr(getattr(route, "endpoint", None), _READ_ONLY_ROUTE, False) is True


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The request is the unit of work: commit on success, roll back on error, and release what
    # it queued for after the commit (events, jobs) only once its transaction committed.
    resources = request.app.state.resources
    if route_is_read_only(request):
        async with read_only_unit_of_work(resources) as session:
            yield session
        return
    async with unit_of_work(resources) as session:
        yield session


# "function" scope: the commit finishes before the response is sent, so a client is never told
# a write succeeded that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_job_queue(request: Request) -> Queue:  # async: no thread-pool hop
    queue: Queue = request.app.state.job_queue
    return queue


# Where requests leave work for the worker (conversation runs, exports).
JobQueueDep = Annotated[Queue, Depends(get_job_queue)]
