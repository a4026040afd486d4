"""A real conversation, then its export, through the queue and the in-process worker."""

import asyncio
import io
import json
import zipfile
from pathlib import Path

from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from app.core.jobs import EXPORT_QUEUE_NAME, MEMORY_QUEUE_NAME, QUEUE_NAME, create_queue
from app.resources import Resources
from app.worker import create_worker
from tests.conftest import client_for
from tests.e2e.test_conversation import IDEA, Project, conversation_settings, open_project
from tests.factories import stream_events
from tests.llm_double import ScriptedLLMServer


async def _wait_until_ready(
    project: Project, export_id: str, timeout: float = 30
) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        export: dict[str, object] = await project.get(f"/exports/{export_id}")
        if export["status"] not in {"queued", "building"}:
            return export
        assert asyncio.get_running_loop().time() < deadline, f"export stuck: {export}"
        await asyncio.sleep(0.05)


async def test_the_worker_exports_what_the_conversation_wrote(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    project = await open_project(client, resources, "exporter@example.com")
    assert (await project.say(IDEA))["status"] == "completed"
    idea = await project.get("/documents/idea")

    response = await client.post(f"{project.base}/exports", headers=project.headers)
    assert response.status_code == 202, response.text
    export = await _wait_until_ready(project, response.json()["id"])
    assert export["status"] == "ready", export

    download = await client.get(str(export["download_path"]), headers=project.headers)
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.read("пекарни/01-idea/idea.md").decode() == idea["content"]
    manifest = json.loads(archive.read("пекарни/manifest.json"))
    assert manifest["language"] == "ru"
    assert [(item["path"], item["status"]) for item in manifest["files"]][-2:] == [
        ("04-plan/plan.md", "absent"),
        ("traceability.md", "present"),
    ]
    assert [item["status"] for item in manifest["files"]] == [
        "present",
        "present",
        *["absent"] * 3,
        "present",
    ]
    assert "# Traceability" in archive.read("пекарни/traceability.md").decode()
    assert "Документы проекта" in archive.read("пекарни/README.md").decode()
    types = [event["type"] for event in await stream_events(resources, project.id)]
    assert types.index("export.progress") < types.index("export.ready")


async def test_a_restarted_worker_picks_up_exports_left_waiting(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    idle = conversation_settings(tmp_path, models, worker_in_process=False)
    async with client_for(idle, endpoints) as (client, resources):
        project = await open_project(client, resources, "waiting@example.com")
        response = await client.post(f"{project.base}/exports", headers=project.headers)
        export_id = response.json()["id"]
        # The queue forgets the job (as a Redis restarted without persistence would).
        await resources.redis.flushdb()
        assert (await project.get(f"/exports/{export_id}"))["status"] == "queued"

    working = conversation_settings(tmp_path, models)
    async with client_for(working, endpoints) as (client, resources):
        project = Project(client, project.headers, project.id)
        export = await _wait_until_ready(project, export_id)
        assert export["status"] == "ready"
        assert export["documents"] == {
            "idea": None,
            "specs": None,
            "architecture": None,
            "plan": None,
        }


def test_the_worker_schedules_the_cleanup(resources: Resources) -> None:
    queue = create_queue(resources.endpoints.redis_url)
    worker = create_worker(queue, resources, gateway=None, owns_signals=False)  # type: ignore[arg-type]
    conversation, memory, exports = (
        worker.lane(name) for name in (QUEUE_NAME, MEMORY_QUEUE_NAME, EXPORT_QUEUE_NAME)
    )
    assert [job.cron for job in exports.cron_jobs] == [resources.settings.export_cleanup_cron]
    assert conversation.cron_jobs == []
    assert memory.cron_jobs == []
    assert "drain_project" in conversation.functions
    assert set(exports.functions) == {"build_export", "cleanup_exports"}
    assert set(memory.functions) == {
        "index_document_version",
        "index_section",
        "follow_project_language",
    }
