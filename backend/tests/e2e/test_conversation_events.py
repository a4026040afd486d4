"""A running conversation watched over SSE by a client that keeps losing its connection."""

import asyncio
import random
from dataclasses import replace
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from app.core.infrastructure import Endpoints
from app.events.publisher import stream_key
from app.main import create_app
from tests.e2e.test_conversation import IDEA, Project, conversation_settings
from tests.factories import auth_headers, create_user
from tests.integration.events.conftest import EventReader, open_events
from tests.llm_double import ScriptedLLMServer
from tests.support.live_server import serve_in_process

RECONNECTS = 100


async def _read_some(stream: EventReader, wanted: int) -> list[tuple[str, str, str]]:
    read: list[tuple[str, str, str]] = []
    for _ in range(wanted):
        try:
            message = await stream.next_event(timeout=0.3)
        except TimeoutError:
            break
        assert message.id is not None
        read.append((message.id, message.event, message.data))
    return read


async def test_a_hundred_reconnects_during_a_conversation_lose_and_duplicate_nothing(
    models: ScriptedLLMServer,
    tmp_path: Path,
    endpoints: Endpoints,
    clean_state: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = conversation_settings(tmp_path, models)
    app = create_app(settings, replace(endpoints, qdrant_path=settings.data_dir / "qdrant"))
    async with app.router.lifespan_context(app):
        resources = app.state.resources
        async with (
            serve_in_process(app) as url,
            httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10, read=30)) as http,
        ):
            headers = auth_headers(resources, await create_user(resources, "watch@example.com"))
            created = await http.post("/api/v1/projects", json={"name": "Live"}, headers=headers)
            project = Project(http, headers, created.json()["id"])

            async def converse() -> None:
                for text in (IDEA, "1.b, 2.a", "ок", "1.a, 2.b", "устраивает"):
                    run = await project.say(text)
                    assert run["status"] == "completed", run

            # Each model call waits a little, so the conversation outlasts enough reconnects
            # however fast the server answers them.
            monkeypatch.setattr(models, "delay", 0.1)
            conversation = asyncio.create_task(converse())
            received: list[tuple[str, str, str]] = []
            choose = random.Random(11)
            during = 0
            for _ in range(RECONNECTS):
                during += not conversation.done()
                resume = {"Last-Event-ID": received[-1][0]} if received else {}
                async with open_events(
                    http, UUID(project.id), headers={**headers, **resume}
                ) as stream:
                    assert stream.response.status_code == 200
                    # 0: the connection drops right after the headers.
                    received += await _read_some(stream, choose.randint(0, 3))
            await conversation
            published = await resources.redis.xrange(stream_key(UUID(project.id)))
            published_ids = [entry_id.decode() for entry_id, _ in published]
            while len(received) < len(published_ids):
                resume = {"Last-Event-ID": received[-1][0]} if received else {}
                async with open_events(
                    http, UUID(project.id), headers={**headers, **resume}
                ) as stream:
                    received += await _read_some(stream, len(published_ids) - len(received))

    assert during >= 20, "the reconnects must overlap the running conversation"
    assert [event_id for event_id, _, _ in received] == published_ids
    assert len(set(published_ids)) == len(published_ids)
    kinds = {kind for _, kind, _ in received}
    assert {"run.started", "agent.floor", "expert.questions", "expert.section.delta"} <= kinds
    assert {"expert.section", "document.version", "stage.completed", "run.completed"} <= kinds
