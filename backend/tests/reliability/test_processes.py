"""Processes stopped mid-run: `serve` sent SIGTERM with a stream open and a turn running, and a
worker SIGKILLed mid-run with another one alive. Real `jeex-idea serve` processes share the
tests' PostgreSQL and Valkey (each keeps its own Qdrant folder); the models are scripted."""

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.e2e.helpers import ServeProcess, cli_env
from tests.e2e.test_conversation import IDEA
from tests.factories import auth_headers, create_user
from tests.llm_double import ScriptedLLMServer, directive
from tests.support.sse import Message, messages

pytestmark = pytest.mark.reliability
TERMINAL = {"completed", "failed", "cancelled"}


def _env(data_dir: Path, endpoints: Endpoints, models: ScriptedLLMServer) -> dict[str, str]:
    plain = make_url(endpoints.database_url).set(drivername="postgresql")
    return cli_env(
        data_dir,
        JEEX_DATABASE_URL=plain.render_as_string(hide_password=False),
        JEEX_REDIS_URL=endpoints.redis_url,
        JEEX_LLM_BASE_URL=models.base_url,
        JEEX_LLM_MODEL="scripted-model",
        JEEX_LLM_BACKOFF_INITIAL_SECONDS="0.01",
        JEEX_LLM_BACKOFF_MAX_SECONDS="0.05",
        JEEX_CONVERSATION_LEASE_SECONDS="3",
        JEEX_WORKER_HEARTBEAT_SECONDS="2",
        JEEX_LOG_LEVEL="WARNING",
    )


async def _token(client: httpx.AsyncClient, resources: Resources, email: str) -> dict[str, str]:
    """A personal access token: stored in the shared database, so every process accepts it."""
    headers = auth_headers(resources, await create_user(resources, email))
    created = await client.post("/api/v1/auth/tokens", json={"name": "faults"}, headers=headers)
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def _ready(serve: ServeProcess) -> None:
    await asyncio.to_thread(serve.wait_ready, 180)


def _survivor(data_dir: Path, endpoints: Endpoints, models: ScriptedLLMServer) -> ServeProcess:
    """A second server, logging at INFO so that ``_warm`` can see its start-up end."""
    env = _env(data_dir, endpoints, models) | {"JEEX_LOG_LEVEL": "INFO"}
    return ServeProcess(env, data_dir.with_suffix(".log"))


async def _warm(serve: ServeProcess) -> None:
    """Ready, and done loading the embeddings model in the background: that load takes both
    cores for seconds, and a takeover during it can find its own lease (3 s here) lapsed
    under the load and count an extra attempt. Only for a run held long enough (a minute)
    to outlast that load: a run held for less would finish on the first server."""
    await _ready(serve)
    await asyncio.to_thread(serve.wait_logged, "memory.embeddings.ready")


async def _run(http: httpx.AsyncClient, base: str, run_id: str) -> dict[str, Any]:
    response = await http.get(f"{base}/runs/{run_id}")
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


async def _wait_status(
    http: httpx.AsyncClient, base: str, run_id: str, wanted: set[str], timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = await _run(http, base, run_id)
        if run["status"] in wanted:
            return run
        assert time.monotonic() < deadline, f"run not {wanted} in {timeout}s: {run}"
        await asyncio.sleep(0.1)


async def _start_slow_run(http: httpx.AsyncClient, name: str, key: str) -> tuple[str, str, str]:
    """A new project whose first message is running (each model call held 8 s, so that the
    run, two calls long, outlasts a second worker's start-up on a loaded machine): returns
    the project's API base, the run id and the message."""
    project = (await http.post("/api/v1/projects", json={"name": name})).json()
    base = f"/api/v1/projects/{project['id']}"
    slow = f"{IDEA} {directive(key=key, delay=8)}"
    accepted = (await http.post(f"{base}/messages", json={"content": slow})).json()
    run_id = accepted["run"]["id"]
    await _wait_status(http, base, run_id, {"running"}, 60)
    return base, run_id, slow


async def _read_stream(http: httpx.AsyncClient, url: str, seen: list[Message]) -> None:
    async with http.stream("GET", url, timeout=httpx.Timeout(5, read=60)) as response:
        assert response.status_code == 200
        async for message in messages(response):
            seen.append(message)


def _stop(serve: ServeProcess, how: signal.Signals) -> None:
    if serve.process.poll() is None:
        serve.process.send_signal(how)
    with contextlib.suppress(Exception):
        serve.terminate(timeout=30)


async def test_sigterm_to_serve_exits_cleanly_and_the_run_resumes_after_restart(
    client: httpx.AsyncClient,
    resources: Resources,
    tmp_path: Path,
    endpoints: Endpoints,
    models: ScriptedLLMServer,
) -> None:
    headers = await _token(client, resources, "sigterm@example.com")
    env = _env(tmp_path / "data", endpoints, models)
    first = ServeProcess(env, tmp_path / "first.log")
    second: ServeProcess | None = None
    try:
        await _ready(first)
        async with httpx.AsyncClient(base_url=first.base_url, headers=headers) as http:
            base, run_id, slow = await _start_slow_run(http, "Term", "sigterm")
            seen: list[Message] = []
            reader = asyncio.create_task(
                _read_stream(http, f"{base}/events?last_event_id=0-0", seen)
            )
            while not any(message.event == "run.started" for message in seen):
                await asyncio.sleep(0.05)
            sent = time.monotonic()
            first.process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(first.process.wait, 60)
            exit_seconds = time.monotonic() - sent
            await asyncio.wait_for(reader, 10)
        second = ServeProcess(env, tmp_path / "second.log")
        restarted = time.monotonic()
        await _ready(second)
        async with httpx.AsyncClient(base_url=second.base_url, headers=headers) as http:
            final = await _wait_status(http, base, run_id, TERMINAL, 120)
            resumed_in = time.monotonic() - restarted
            chat = (await http.get(f"{base}/messages", params={"limit": 200})).json()["items"]
            idea = (await http.get(f"{base}/documents/idea")).json()
    finally:
        _stop(first, signal.SIGTERM)
        if second is not None:
            _stop(second, signal.SIGTERM)
    print(f"sigterm: exit {code} in {exit_seconds:.1f}s; run done {resumed_in:.1f}s after restart")
    assert code == 0, first.output()[-3000:]
    assert "Traceback" not in first.output(), first.output()[-3000:]
    farewell = seen[-1]
    assert farewell.event == "ping"
    assert any("shutting down" in comment for comment in farewell.comments)
    assert farewell.retry is not None
    assert final["status"] == "completed", final
    assert final["attempts"] == 2
    assert [m["content"] for m in chat if m["role"] == "user"] == [slow]
    assert idea["version"] == 1


async def test_a_worker_killed_mid_run_hands_the_run_to_another(
    client: httpx.AsyncClient,
    resources: Resources,
    tmp_path: Path,
    endpoints: Endpoints,
    models: ScriptedLLMServer,
) -> None:
    headers = await _token(client, resources, "sigkill@example.com")
    doomed = ServeProcess(_env(tmp_path / "a", endpoints, models), tmp_path / "a.log")
    survivor: ServeProcess | None = None
    try:
        await _ready(doomed)
        async with httpx.AsyncClient(base_url=doomed.base_url, headers=headers) as http:
            base, run_id, slow = await _start_slow_run(http, "Kill", "sigkill")
        # The second worker is up before the first dies, and finds the run taken.
        survivor = ServeProcess(_env(tmp_path / "b", endpoints, models), tmp_path / "b.log")
        await _ready(survivor)
        doomed.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(doomed.process.wait, 10)
        killed = time.monotonic()
        async with httpx.AsyncClient(base_url=survivor.base_url, headers=headers) as http:
            final = await _wait_status(http, base, run_id, TERMINAL, 180)
            taken_over_in = time.monotonic() - killed
            chat = (await http.get(f"{base}/messages", params={"limit": 200})).json()["items"]
            versions = (await http.get(f"{base}/documents/idea/versions")).json()
    finally:
        _stop(doomed, signal.SIGKILL)
        if survivor is not None:
            _stop(survivor, signal.SIGTERM)
    print(f"sigkill: run {final['status']} on the other worker {taken_over_in:.1f}s after the kill")
    assert final["status"] == "completed", final
    assert final["attempts"] == 2
    assert [m["content"] for m in chat if m["role"] == "user"] == [slow]
    assert [v["version"] for v in versions] == [1]
