"""Reusable request dependencies, exposed as ``Annotated`` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.resources import Resources
from app.events.transaction import unit_of_work


async def get_resources(request: Request) -> Resources:
    # async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a hop to
    # another thread and back on every request for one attribute read.
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    # The request is the unit of work: commit on success, roll back on error, and publish the
    # events it deferred only once its transaction committed.
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
