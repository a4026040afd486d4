"""Faults injected into the real parts while the service works: PostgreSQL backends
terminated, the model server killed mid-stream. (Slow: run by scripts/reliability.)"""

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.infrastructure import Endpoints
from tests.conftest import client_for, make_settings
from tests.e2e.test_conversation import IDEA, conversation_settings, open_project
from tests.factories import auth_headers, create_project, create_user, stream_events
from tests.llm_double import directive
from tests.reliability.conftest import ModelsProcess

pytestmark = pytest.mark.reliability

_TERMINATE = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE application_name = 'jeex-idea' AND pid <> pg_backend_pid()"
)


async def test_terminated_postgres_backends_leave_no_broken_connection(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    # Limits far above what six hammering clients reach: this is about connections, and a
    # fast enough app would otherwise meet the per-user limit (429) within the storm.
    settings = make_settings(
        tmp_path,
        database_pool_size=5,
        database_max_overflow=5,
        rate_limit_user_per_window=1_000_000,
        rate_limit_project_per_window=1_000_000,
    )
    killer = create_async_engine(endpoints.database_url, poolclass=NullPool)
    async with client_for(settings, endpoints) as (client, resources):
        headers = auth_headers(resources, await create_user(resources, "pg@example.com"))
        project = await create_project(client, headers, "Survives")
        url = f"/api/v1/projects/{project['id']}"
        statuses: Counter[int] = Counter()
        bodies: list[dict[str, Any]] = []
        stop = asyncio.Event()

        async def hammer() -> None:
            while not stop.is_set():
                response = await client.get(url, headers=headers)
                statuses[response.status_code] += 1
                if response.status_code != 200:
                    bodies.append(response.json())

        workers = [asyncio.create_task(hammer()) for _ in range(6)]
        await asyncio.sleep(0.5)
        terminated = 0
        for _ in range(3):  # three waves, while requests are in flight
            async with killer.connect() as connection:
                terminated += (await connection.execute(_TERMINATE)).scalar_one()
            killed_at = time.monotonic()
            await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)
        # Every pooled connection is usable again: a burst wider than the pool, then writes.
        after = await asyncio.gather(*(client.get(url, headers=headers) for _ in range(20)))
        renamed = await client.patch(url, json={"name": "Still here"}, headers=headers)
        recovered_in = time.monotonic() - killed_at
    await killer.dispose()
    print(f"postgres: {terminated} backends terminated, statuses {dict(statuses)}")
    assert terminated >= 3
    assert set(statuses) <= {200, 503}, bodies
    assert statuses[200] > 0
    assert all(body["error"]["details"] == {"dependency": "postgres"} for body in bodies)
    assert [response.status_code for response in after] == [200] * 20
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Still here"
    assert recovered_in < 10


async def _wait_for_event(
    resources: Any, project_id: str, kind: str, run_id: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await stream_events(resources, project_id):
            if event["type"] == kind and event.get("run_id") == run_id:
                return event
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} event for run {run_id}")


async def test_a_model_server_killed_mid_stream_fails_the_run_visibly_and_writes_nothing(
    tmp_path: Path, endpoints: Endpoints, models_process: ModelsProcess, clean_state: None
) -> None:
    # The process double serves the same scripted models; conversation_settings reads only
    # its base_url.
    settings = conversation_settings(tmp_path, cast(Any, models_process))
    async with client_for(settings, endpoints) as (client, resources):
        project = await open_project(client, resources, "cut@example.com")
        first = await project.say(IDEA)
        assert first["status"] == "completed", first
        slow = f"1.a, 2.b {directive(key='killed', chunk_delay=0.05)}"
        accepted = await client.post(
            f"{project.base}/messages", json={"content": slow}, headers=project.headers
        )
        run_id = accepted.json()["run"]["id"]
        await _wait_for_event(resources, project.id, "expert.section.delta", run_id)
        models_process.kill()
        killed_at = time.monotonic()
        failed = await project.wait(run_id, timeout=60)
        failed_in = time.monotonic() - killed_at
        versions_after_kill = [v["version"] for v in await project.versions("idea")]
        announced = [
            e for e in await stream_events(resources, project.id) if e.get("run_id") == run_id
        ]
        chat = await project.messages()

        # The model comes back; the same answer now goes through, as the next version.
        models_process.start()
        retried = await project.say("1.a, 2.b")
        versions = await project.versions("idea")
    print(f"llm killed: run failed {failed_in:.2f}s later with {failed['error']}")
    assert failed["status"] == "failed"
    assert failed["error"]["code"].startswith("llm_")
    assert failed_in < 30
    assert versions_after_kill == [1]  # no partial version
    kinds = [event["type"] for event in announced]
    assert "expert.section.delta" in kinds
    assert kinds[-1] == "run.failed"
    assert "expert.section" not in kinds
    assert "document.version" not in kinds
    assert chat[-1]["kind"] == "error"
    assert chat[-1]["payload"]["run_id"] == run_id
    assert slow in [message["content"] for message in chat]  # the user's message is kept
    assert retried["status"] == "completed", retried
    assert [v["version"] for v in versions] == [2, 1]
