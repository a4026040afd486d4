"""Runs end visibly: no model configured, cancelled, or orphaned by a worker that died."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from sqlalchemy import update

from app.conversation.models import AgentExecution
from app.core.infrastructure import Endpoints
from tests.conftest import client_for, make_settings
from tests.e2e.test_conversation import (
    IDEA,
    Project,
    conversation_settings,
    open_project,
)
from tests.factories import stream_events
from tests.llm_double import ScriptedLLMServer, directive


async def test_without_a_model_the_message_is_kept_and_the_run_fails_clearly(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    async with client_for(make_settings(tmp_path, worker_in_process=True), endpoints) as (
        client,
        resources,
    ):
        project = await open_project(client, resources, "nomodel@example.com")
        run = await project.say(IDEA)
        messages = await project.messages()
        announced = await stream_events(resources, project.id)
    assert announced[-1]["type"] == "run.failed"
    assert announced[-1]["run_id"] == run["id"]
    assert announced[-1]["error"]["code"] == "llm_not_configured"
    assert run["status"] == "failed"
    assert run["error"]["code"] == "llm_not_configured"
    assert messages[0]["content"] == IDEA
    assert messages[-1]["kind"] == "error"
    assert messages[-1]["payload"]["code"] == "llm_not_configured"


async def test_a_running_run_can_be_cancelled(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = conversation_settings(tmp_path, models, conversation_lease_seconds=0.6)
    async with client_for(settings, endpoints) as (client, resources):
        project = await open_project(client, resources, "cancel@example.com")
        slow = f"{IDEA} {directive(key='slow-cancel', delay=30)}"
        accepted = await client.post(
            f"{project.base}/messages", json={"content": slow}, headers=project.headers
        )
        run_id = accepted.json()["run"]["id"]
        for _ in range(100):
            status = (await project.get(f"/runs/{run_id}"))["status"]
            if status == "running":
                break
            await asyncio.sleep(0.05)
        cancelled = await client.post(
            f"{project.base}/runs/{run_id}/cancel", headers=project.headers
        )
        assert cancelled.status_code == 200
        final = await project.wait(run_id, timeout=10)
        again = await client.post(f"{project.base}/runs/{run_id}/cancel", headers=project.headers)
    assert final["status"] == "cancelled"
    assert again.status_code == 409


async def test_a_queued_run_is_cancelled_at_once(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = conversation_settings(tmp_path, models, worker_in_process=False)
    async with client_for(settings, endpoints) as (client, resources):
        project = await open_project(client, resources, "queued@example.com")
        accepted = await client.post(
            f"{project.base}/messages", json={"content": IDEA}, headers=project.headers
        )
        run = accepted.json()["run"]
        waiting = (await project.get("/progress"))["active_run"]
        assert (waiting["id"], waiting["status"]) == (run["id"], "queued")
        cancelled = await client.post(
            f"{project.base}/runs/{run['id']}/cancel", headers=project.headers
        )
        progress_after = await project.get("/progress")
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["error"]["code"] == "cancelled"
    assert progress_after["active_run"] is None


async def _orphaned_run(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, *, attempts: int
) -> tuple[Project, str]:
    """What a worker killed mid-run leaves: its run marked running, under a lease nobody renews
    any more, after ``attempts`` tries. No worker runs while it is set up."""
    parked = conversation_settings(tmp_path, models, worker_in_process=False)
    async with client_for(parked, endpoints) as (client, resources):
        project = await open_project(client, resources, f"orphan{attempts}@example.com")
        accepted = await client.post(
            f"{project.base}/messages", json={"content": IDEA}, headers=project.headers
        )
        run_id = accepted.json()["run"]["id"]
        async with resources.session_factory.begin() as session:
            await session.execute(
                update(AgentExecution)
                .where(AgentExecution.id == UUID(run_id))
                .values(
                    status="running",
                    attempts=attempts,
                    lease_until=datetime.now(UTC) - timedelta(seconds=1),
                )
            )
    return project, run_id


async def test_a_run_orphaned_by_a_dead_worker_is_taken_over(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    orphaned, run_id = await _orphaned_run(models, tmp_path, endpoints, attempts=1)
    working = conversation_settings(tmp_path, models)
    async with client_for(working, endpoints) as (client, _):
        final = await Project(client, orphaned.headers, orphaned.id).wait(run_id)
    assert final["status"] == "completed"
    assert final["attempts"] == 2


async def test_a_run_that_keeps_dying_fails_visibly(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    orphaned, run_id = await _orphaned_run(models, tmp_path, endpoints, attempts=3)
    working = conversation_settings(tmp_path, models)
    async with client_for(working, endpoints) as (client, _):
        project = Project(client, orphaned.headers, orphaned.id)
        final = await project.wait(run_id)
        messages = await project.messages()
        documents = await project.get("/documents")
    assert final["status"] == "failed"
    assert final["error"]["code"] == "run_abandoned"
    assert messages[-1]["kind"] == "error"
    assert all(document["active_version"] is None for document in documents)
