"""Redis (Valkey) stopped while a run works and a client streams events, then started again on
the same port with its append-only file."""

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from app.core.infrastructure import Endpoints
from app.main import create_app
from tests.conftest import BASE_URL
from tests.e2e.test_conversation import IDEA, TERMINAL, Project, conversation_settings
from tests.factories import auth_headers, create_user
from tests.llm_double import ScriptedLLMServer, directive
from tests.reliability.conftest import RestartableValkey
from tests.support.asgi_stream import StreamingASGITransport
from tests.support.sse import Message, messages

pytestmark = pytest.mark.reliability


async def _read(response: httpx.Response, seen: list[Message]) -> None:
    async for message in messages(response):
        seen.append(message)


async def test_redis_stopped_mid_run_and_mid_stream_recovers_losing_no_message(
    tmp_path: Path,
    endpoints: Endpoints,
    valkey: RestartableValkey,
    models: ScriptedLLMServer,
    clean_state: None,
) -> None:
    settings = conversation_settings(tmp_path, models)
    own = replace(endpoints, redis_url=valkey.url, qdrant_path=tmp_path / "qdrant")
    application = create_app(settings, own)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=StreamingASGITransport(application), base_url=BASE_URL) as http,
    ):
        resources = application.state.resources
        headers = auth_headers(resources, await create_user(resources, "outage@example.com"))
        created = await http.post("/api/v1/projects", json={"name": "Outage"}, headers=headers)
        project = Project(http, headers, created.json()["id"])
        accepted: list[str] = []
        slow = f"{IDEA} {directive(key='outage', delay=1.0)}"
        first = await http.post(f"{project.base}/messages", json={"content": slow}, headers=headers)
        assert first.status_code == 202
        accepted.append(slow)
        run_id = first.json()["run"]["id"]
        stream = await http.send(
            http.build_request("GET", f"{project.base}/events?last_event_id=0-0", headers=headers),
            stream=True,
        )
        seen: list[Message] = []
        reader = asyncio.create_task(_read(stream, seen))
        while not any(message.event == "run.started" for message in seen):
            await asyncio.sleep(0.05)

        stopped_at = valkey.stop()
        refused = await http.post(
            f"{project.base}/messages", json={"content": "lost?"}, headers=headers
        )
        first_503 = time.monotonic() - stopped_at
        await asyncio.wait_for(reader, 30)
        stream_ended = time.monotonic() - stopped_at
        await stream.aclose()
        await asyncio.sleep(2)

        valkey.start()
        back_at = time.monotonic()
        while True:
            retry = await http.post(
                f"{project.base}/messages", json={"content": "1.a, 2.b"}, headers=headers
            )
            if retry.status_code == 202 or time.monotonic() - back_at > 10:
                break
            await asyncio.sleep(0.2)
        recovered = time.monotonic() - back_at
        assert retry.status_code == 202, retry.text
        accepted.append("1.a, 2.b")
        outcome = await project.wait(run_id, timeout=120)
        second = await project.wait(retry.json()["run"]["id"], timeout=120)
        chat = await project.messages()
    print(
        f"redis mid-run: 503 in {first_503:.2f}s, stream ended in {stream_ended:.2f}s, "
        f"accepting again {recovered:.2f}s after restart; first run {outcome['status']} "
        f"({outcome['error']}), second {second['status']}"
    )
    assert refused.status_code == 503
    assert refused.json()["error"]["details"] == {"dependency": "redis"}
    assert first_503 < 5
    # The stream said why it ended and when to come back.
    assert any("unavailable" in comment for comment in seen[-1].comments)
    assert seen[-1].retry is not None
    assert stream_ended < 10
    assert recovered < 10
    # The run that Redis left half-way ends visibly; the next one completes.
    assert outcome["status"] in TERMINAL
    assert second["status"] == "completed", second
    users = [m["content"] for m in chat if m["role"] == "user"]
    assert users == accepted  # every accepted message kept, in order; the refused one not stored
    if outcome["status"] == "failed":
        assert any(m["kind"] == "error" and m["payload"]["run_id"] == run_id for m in chat)
