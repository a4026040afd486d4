"""A run acts for its user only while that user may: the runs of a member removed from the
project are cancelled, queued ones before any model call, running ones before their next."""

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from app.llm.limits import budget_key
from app.resources import Resources
from tests.conftest import client_for
from tests.e2e.test_conversation import IDEA, Project, conversation_settings, open_project
from tests.factories import add_member, auth_headers, create_user, stream_events
from tests.llm_double import ScriptedLLMServer, directive


async def _with_editor(
    client: AsyncClient, resources: Resources, label: str
) -> tuple[Project, Project, str]:
    """A project of an owner, the same project as an editor sees it, and the editor's id."""
    owner = await open_project(client, resources, f"owner-{label}@example.com")
    editor_id = await create_user(resources, f"editor-{label}@example.com")
    await add_member(
        client, resources, owner.headers, owner.id, f"editor-{label}@example.com", "editor"
    )
    editor = Project(client, auth_headers(resources, editor_id), owner.id)
    return owner, editor, str(editor_id)


async def _post(project: Project, text: str) -> str:
    response = await project.client.post(
        f"{project.base}/messages", json={"content": text}, headers=project.headers
    )
    assert response.status_code == 202, response.text
    run_id: str = response.json()["run"]["id"]
    return run_id


async def _remove(owner: Project, user_id: str) -> None:
    response = await owner.client.delete(f"{owner.base}/members/{user_id}", headers=owner.headers)
    assert response.status_code == 204, response.text


async def _until_running(project: Project, run_id: str) -> None:
    for _ in range(400):
        if (await project.get(f"/runs/{run_id}"))["status"] == "running":
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the run never started")


def _assert_cancelled_for_removal(run: dict[str, Any]) -> None:
    assert run["status"] == "cancelled", run
    assert run["error"]["code"] == "member_removed"
    assert "no longer a member" in run["error"]["message"]


async def _cancel_notice(owner: Project, resources: Resources, run_id: str) -> None:
    """The chat and the stream tell the story as for any cancelled run."""
    notice = [m for m in await owner.messages() if (m["payload"] or {}).get("run_id") == run_id]
    assert [m["payload"]["code"] for m in notice] == ["cancelled"]
    ended = [e for e in await stream_events(resources, owner.id) if e.get("run_id") == run_id]
    assert ended[-1]["type"] == "run.failed"
    assert ended[-1]["error"]["code"] == "member_removed"


async def test_a_removed_members_queued_run_is_cancelled_and_never_calls_the_model(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    parked = conversation_settings(tmp_path, models, worker_in_process=False)
    async with client_for(parked, endpoints) as (client, resources):
        owner, editor, editor_id = await _with_editor(client, resources, "queued")
        run_id = await _post(editor, IDEA)
        assert (await owner.get(f"/runs/{run_id}"))["status"] == "queued"
        await _remove(owner, editor_id)
    calls_before = len(models.exchanges())
    async with client_for(conversation_settings(tmp_path, models), endpoints) as (client, res):
        owner = Project(client, owner.headers, owner.id)
        final = await owner.wait(run_id, timeout=30)
        _assert_cancelled_for_removal(final)
        await _cancel_notice(owner, res, run_id)
        assert await res.redis.exists(budget_key(UUID(owner.id))) == 0
    assert final["model_calls"] == 0
    assert final["started_at"] is None
    assert len(models.exchanges()) == calls_before  # the model server saw no request


async def test_a_running_run_stops_before_its_next_model_call_once_its_user_is_removed(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    # A long lease: the heartbeat stays out of it, the check before each call stops the run.
    settings = conversation_settings(tmp_path, models, conversation_lease_seconds=60.0)
    async with client_for(settings, endpoints) as (client, resources):
        owner, editor, editor_id = await _with_editor(client, resources, "boundary")
        calls_before = len(models.exchanges())
        # The first of the run's two calls is held long enough to remove the editor during it.
        run_id = await _post(editor, f"{IDEA} {directive(key='removed-boundary', delay=1.5)}")
        async with asyncio.timeout(20):
            while not models.exchanges("removed-boundary"):
                await asyncio.sleep(0.02)
        await _remove(owner, editor_id)
        final = await owner.wait(run_id, timeout=30)
        _assert_cancelled_for_removal(final)
        await _cancel_notice(owner, resources, run_id)
    assert final["model_calls"] == 1  # the call under way finished; no second one started
    assert len(models.exchanges()) == calls_before + 1


async def test_a_model_call_in_flight_is_cut_short_at_the_next_heartbeat(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = conversation_settings(tmp_path, models, conversation_lease_seconds=0.6)
    async with client_for(settings, endpoints) as (client, resources):
        owner, editor, editor_id = await _with_editor(client, resources, "heartbeat")
        run_id = await _post(editor, f"{IDEA} {directive(key='removed-heartbeat', delay=30)}")
        await _until_running(owner, run_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await _remove(owner, editor_id)
        final = await owner.wait(run_id, timeout=15)
        elapsed = loop.time() - started
        _assert_cancelled_for_removal(final)
    print(f"a held model call of a removed member was cut short after {elapsed:.3f} s")
    assert elapsed < 10  # the model would have held it for 30 s
