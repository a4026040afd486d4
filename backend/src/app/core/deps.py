"""Reusable request dependencies, exposed as ``Annotated`` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import transactional_session
from app.core.resources import Resources


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async for session in transactional_session(resources.session_factory):
        yield session


# "function" scope: the commit finishes before the response is sent, so a client is never told
# a write succeeded that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
