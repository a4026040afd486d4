"""One tenant keeping the worker busy does not hold up another: turns per project, and exports
on a lane of their own. Measured against the real worker, with its default concurrency."""

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.conftest import client_for
from tests.e2e.test_conversation import IDEA, Project, conversation_settings, open_project
from tests.llm_double import ScriptedLLMServer

# Marks the busy tenant's prompts: their model calls take a while, the other tenant's do not.
BUSY = "[busy-tenant]"
BUSY_CALL_SECONDS = 1.0
BUSY_PROJECTS = 4
BUSY_MESSAGES = 4
RUN_START_LIMIT = 5.0
EXPORT_READY_LIMIT = 8.0


@contextmanager
def slow_calls_for_the_busy_tenant(models: ScriptedLLMServer) -> Iterator[None]:
    def hold(body: dict[str, Any]) -> float:
        return BUSY_CALL_SECONDS if BUSY in json.dumps(body, ensure_ascii=False) else 0.0

    models.hold = hold
    try:
        yield
    finally:
        models.hold = None


async def _post(project: Project, text: str) -> dict[str, Any]:
    response = await project.client.post(
        f"{project.base}/messages", json={"content": text}, headers=project.headers
    )
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()["run"]
    return run


async def _seconds_until_started(project: Project, text: str, timeout: float = 60) -> float:
    loop = asyncio.get_running_loop()
    began = loop.time()
    run_id = (await _post(project, text))["id"]
    while (run := await project.get(f"/runs/{run_id}"))["status"] == "queued":
        assert loop.time() - began < timeout, f"run never started: {run}"
        await asyncio.sleep(0.05)
    return loop.time() - began


async def _seconds_until_exported(project: Project, timeout: float = 60) -> float:
    loop = asyncio.get_running_loop()
    began = loop.time()
    response = await project.client.post(f"{project.base}/exports", headers=project.headers)
    assert response.status_code == 202, response.text
    export_id = response.json()["id"]
    while (export := await project.get(f"/exports/{export_id}"))["status"] in {
        "queued",
        "building",
    }:
        assert loop.time() - began < timeout, f"export never finished: {export}"
        await asyncio.sleep(0.05)
    assert export["status"] == "ready", export
    return loop.time() - began


async def _tenant_b(project: Project) -> tuple[float, float]:
    """Another tenant's message and export, both started at once: seconds until the run
    started, and until the archive was ready."""
    started, exported = await asyncio.gather(
        _seconds_until_started(project, IDEA), _seconds_until_exported(project)
    )
    return started, exported


async def _running(projects: list[Project]) -> list[bool]:
    """Whether each project has a run going now."""
    return [
        active is not None and active["status"] == "running"
        for project in projects
        for active in ((await project.get("/progress"))["active_run"],)
    ]


async def _until_all_running(projects: list[Project]) -> None:
    for _ in range(200):
        if all(await _running(projects)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the busy tenant's projects never all ran at once")


async def test_a_tenant_keeping_four_projects_busy_delays_another_by_little(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    with slow_calls_for_the_busy_tenant(models):
        # The default worker; the waits poll often, so the API's own rate limits are lifted.
        settings = conversation_settings(
            tmp_path,
            models,
            rate_limit_user_per_window=1_000_000,
            rate_limit_project_per_window=1_000_000,
        )
        async with client_for(settings, endpoints) as (
            client,
            resources,
        ):
            baseline = await _tenant_b(await open_project(client, resources, "b@example.com"))
            loaded = await _under_load(client, resources)
    print(  # the figures for docs/t16-fair.md
        f"\nrun start: alone {baseline[0]:.2f} s, beside a busy tenant {loaded[0]:.2f} s"
        f"\nexport ready: alone {baseline[1]:.2f} s, beside a busy tenant {loaded[1]:.2f} s"
    )
    assert loaded[0] <= RUN_START_LIMIT
    assert loaded[1] <= EXPORT_READY_LIMIT


async def _under_load(client: AsyncClient, resources: Resources) -> tuple[float, float]:
    # One user with four projects of their own.
    owner = await open_project(client, resources, "busy@example.com")
    projects = [owner] + [
        Project(client, owner.headers, await _create(client, owner.headers))
        for _ in range(BUSY_PROJECTS - 1)
    ]
    for project in projects:
        await _post(project, f"{IDEA} {BUSY}")
    for number in range(BUSY_MESSAGES - 1):
        for project in projects:
            await _post(project, f"{number + 1}.a {BUSY}")
    await _until_all_running(projects)
    other = await open_project(client, resources, "b2@example.com")

    async def started_beside_the_busy_tenant() -> float:
        seconds = await _seconds_until_started(other, IDEA)
        # When the other tenant's run started, the busy tenant's projects were still at work:
        # it did not simply come after them. (Checked then rather than once the export is
        # ready too: the busy work, four queued turns a project, ends soon after.)
        assert any(await _running(projects))
        return seconds

    started, exported = await asyncio.gather(
        started_beside_the_busy_tenant(), _seconds_until_exported(other)
    )
    return started, exported


async def _create(client: AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/api/v1/projects", json={"name": "Нагрузка"}, headers=headers)
    assert response.status_code == 201, response.text
    project_id: str = response.json()["id"]
    return project_id


async def test_a_busy_project_goes_to_the_back_of_the_queue_after_each_run(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    """One slot, one run per turn: a project posted to later gets its turn between the busy
    project's runs, which still run once each, in chat order."""
    settings = conversation_settings(tmp_path, models, worker_concurrency=1, worker_runs_per_turn=1)
    with slow_calls_for_the_busy_tenant(models):
        async with client_for(settings, endpoints) as (client, resources):
            busy = await open_project(client, resources, "busy@example.com")
            other = await open_project(client, resources, "other@example.com")
            busy_runs = [await _post(busy, f"{IDEA} {BUSY}")]
            busy_runs += [await _post(busy, f"{n}.a {BUSY}") for n in (1, 2)]
            other_run = await _post(other, IDEA)
            ended = [await busy.wait(run["id"]) for run in busy_runs]
            ended.append(await other.wait(other_run["id"]))
    assert [run["status"] for run in ended] == ["completed"] * 4
    assert [run["attempts"] for run in ended] == [1] * 4
    order = sorted(ended, key=lambda run: str(run["started_at"]))
    assert [run["id"] for run in order] == [
        busy_runs[0]["id"],
        other_run["id"],
        busy_runs[1]["id"],
        busy_runs[2]["id"],
    ]
