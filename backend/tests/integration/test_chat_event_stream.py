"""`jeex-idea chat`'s event stream against a small SSE server of the test's own: a dropped
stream comes back with the last event id seen, pings and unknown events are skipped, and a
project that is gone ends the stream with its error."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import httpx
import pytest

from app.cli.chat.auth import PersonalToken
from app.cli.chat.client import ChatApi
from app.cli.chat.errors import ApiError
from app.events.schemas import RunCompleted, RunStarted

PROJECT = uuid4()
RUN = uuid4()


class ScriptedEvents:
    """Answers each connection with the next script: a status line and SSE frames."""

    def __init__(self, scripts: list[tuple[str, str]]) -> None:
        self.scripts = scripts
        self.requests: list[dict[str, str]] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> "ScriptedEvents":
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        lines = head.split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        self.requests.append(
            {"path": lines[0].split(" ")[1], **{k.lower(): v for k, v in headers.items()}}
        )
        status, body = self.scripts.pop(0) if self.scripts else ("200 OK", "")
        kind = "text/event-stream" if status.startswith("200") else "application/json"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nConnection: close\r\n\r\n{body}".encode()
        )
        await writer.drain()
        writer.close()


def frame(name: str, event_id: str | None, data: dict[str, object]) -> str:
    lines = [f"event: {name}"] + ([f"id: {event_id}"] if event_id else [])
    return "\n".join([*lines, f"data: {json.dumps(data)}", "", ""])


@asynccontextmanager
async def connected(
    scripts: list[tuple[str, str]],
) -> AsyncIterator[tuple[ScriptedEvents, ChatApi]]:
    async with ScriptedEvents(scripts) as server, httpx.AsyncClient(base_url=server.url) as client:
        yield server, ChatApi(client, PersonalToken("jxp_test"))


async def _take(events: AsyncIterator[object], count: int) -> list[object]:
    taken = []
    async for event in events:
        taken.append(event)
        if len(taken) == count:
            break
    return taken


async def test_a_dropped_stream_resumes_after_the_last_event_seen() -> None:
    started = {"project_id": str(PROJECT), "run_id": str(RUN), "message_id": None, "stage": "idea"}
    first = (
        frame("ping", None, {"project_id": str(PROJECT), "type": "ping"})
        + frame("run.started", "5-0", {"type": "run.started", **started})
        + frame("something.new", "5-1", {"type": "something.new", "project_id": str(PROJECT)})
    )
    second = frame(
        "run.completed",
        "6-0",
        {"type": "run.completed", "project_id": str(PROJECT), "run_id": str(RUN)},
    )
    drops: list[str] = []
    async with connected([("200 OK", first), ("200 OK", second)]) as (server, api):
        events = await asyncio.wait_for(
            _take(api.events(PROJECT, "4-0", drops.append), 2), timeout=10
        )
    assert [type(event) for event in events] == [RunStarted, RunCompleted]
    assert isinstance(events[1], RunCompleted)
    assert events[1].run_id == RUN
    assert drops == ["the server closed the event stream"]
    assert [request["last-event-id"] for request in server.requests] == ["4-0", "5-1"]
    assert server.requests[0]["path"] == f"/api/v1/projects/{PROJECT}/events"
    assert server.requests[0]["authorization"] == "Bearer jxp_test"


async def test_a_project_that_is_gone_ends_the_stream_with_its_error() -> None:
    gone = json.dumps(
        {
            "error": {
                "code": "project_not_found",
                "message": "Project not found.",
                "details": None,
                "correlation_id": None,
            }
        }
    )
    async with connected([("404 Not Found", gone)]) as (_, api):
        with pytest.raises(ApiError) as raised:
            await asyncio.wait_for(_take(api.events(PROJECT, "0", print), 1), timeout=10)
    assert (raised.value.status, raised.value.code) == (404, "project_not_found")
    assert raised.value.line() == "Project not found (404 project_not_found)"
