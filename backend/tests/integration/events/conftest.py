"""A project with an owner, a viewer and a stranger, and clients that read event streams."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.core.infrastructure import Endpoints
from app.main import create_app
from app.resources import Resources
from tests.conftest import BASE_URL, make_settings
from tests.factories import add_member, auth_headers, create_project, create_user
from tests.support.asgi_stream import StreamingASGITransport
from tests.support.live_server import serve_in_process
from tests.support.sse import Message, messages


@dataclass(frozen=True)
class Team:
    project_id: UUID
    owner: dict[str, str]
    owner_id: UUID
    viewer: dict[str, str]
    viewer_id: UUID
    stranger: dict[str, str]
    # The stranger's own project, of which the viewer is a member too.
    other_project_id: UUID


@pytest.fixture
async def team(client: httpx.AsyncClient, resources: Resources) -> Team:
    owner_id = await create_user(resources, "owner@example.com")
    owner = auth_headers(resources, owner_id)
    viewer_id = await create_user(resources, "viewer@example.com")
    viewer = auth_headers(resources, viewer_id)
    stranger = auth_headers(resources, await create_user(resources, "stranger@example.com"))
    project = await create_project(client, owner, "Events")
    await add_member(client, resources, owner, project["id"], "viewer@example.com", "viewer")
    other = await create_project(client, stranger, "Other")
    await add_member(client, resources, stranger, other["id"], "viewer@example.com", "viewer")
    return Team(
        project_id=UUID(str(project["id"])),
        owner=owner,
        owner_id=owner_id,
        viewer=viewer,
        viewer_id=viewer_id,
        stranger=stranger,
        other_project_id=UUID(str(other["id"])),
    )


@pytest.fixture
async def stream_client(app: FastAPI, clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    """In-process, but streaming: the response arrives with its headers, not at its end."""
    async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url=BASE_URL) as http:
        yield http


class EventReader:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._messages = messages(response)

    async def next(self, timeout: float = 10.0) -> Message:
        return await asyncio.wait_for(anext(self._messages), timeout)

    async def next_event(self, timeout: float = 10.0) -> Message:
        """The next message that is an event of the project, pings skipped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.next(max(0.01, deadline - loop.time()))
            if message.id is not None:
                return message

    async def aclose(self) -> None:
        await self._messages.aclose()
        await self.response.aclose()


@contextlib.asynccontextmanager
async def open_events(
    http: httpx.AsyncClient,
    project_id: UUID,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    base_url: str = "",
) -> AsyncIterator[EventReader]:
    request = http.build_request(
        "GET", f"{base_url}/api/v1/projects/{project_id}/events", headers=headers, params=params
    )
    reader = EventReader(await http.send(request, stream=True))
    try:
        yield reader
    finally:
        await reader.aclose()


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def unreachable_redis() -> "Redis":
    """A real client of a port nobody listens on, failing at once instead of retrying."""
    return Redis.from_url(
        "redis://127.0.0.1:1/0", retry=Retry(NoBackoff(), 0), socket_connect_timeout=0.5
    )


@pytest.fixture
async def live_url(app: FastAPI, clean_state: None) -> AsyncIterator[str]:
    """The tests' app served over real TCP on a loopback port."""
    async with serve_in_process(app) as url:
        yield url


@contextlib.asynccontextmanager
async def tuned_app(
    data_dir: Path, endpoints: Endpoints, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, Resources]]:
    """Another app on the same database and Redis, with its own settings (and signing key)."""
    settings = make_settings(data_dir, **overrides)
    application = create_app(settings, replace(endpoints, qdrant_path=data_dir / "qdrant"))
    async with application.router.lifespan_context(application):
        yield application, application.state.resources


def bearer(resources: Resources, user_id: UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {resources.access_tokens.issue(user_id)}"}
