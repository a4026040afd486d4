"""An archive that does not read back as built is never offered; a storage that fails is
retried, then the export fails visibly."""

import asyncio
import hashlib
from dataclasses import replace
from pathlib import Path
from uuid import UUID

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from app.exports.builder import GAVE_UP_MESSAGE
from app.exports.storage import LocalExportStorage
from app.resources import Resources
from tests.factories import stream_events
from tests.integration.exports.conftest import Seeded, build, seed_russian_project


class FlippingStorage(LocalExportStorage):
    """Stores every archive with one byte changed, as a failing disk or bucket might."""

    async def put(self, key: str, data: bytes) -> None:
        middle = len(data) // 2
        await super().put(key, data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])


class TruncatingStorage(LocalExportStorage):
    """Stores only the first half of every archive, as a full disk might."""

    async def put(self, key: str, data: bytes) -> None:
        await super().put(key, data[: len(data) // 2])


class HangingStorage(LocalExportStorage):
    """A write that never finishes, like a storage that stopped answering."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writing = asyncio.Event()

    async def put(self, key: str, data: bytes) -> None:
        self.writing.set()
        await asyncio.Event().wait()


class UnwritableStorage(LocalExportStorage):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.attempts = 0

    async def put(self, key: str, data: bytes) -> None:
        self.attempts += 1
        raise OSError(28, "No space left on device")


async def _requested(client: AsyncClient, resources: Resources) -> tuple[Seeded, str]:
    seeded = await seed_russian_project(client, resources)
    response = await client.post(seeded.url(), headers=seeded.headers)
    return seeded, str(response.json()["id"])


async def _status(client: AsyncClient, seeded: Seeded, export_id: str) -> dict[str, object]:
    body: dict[str, object] = (
        await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)
    ).json()
    return body


def _stored_files(resources: Resources, project_id: str) -> list[str]:
    folder = resources.settings.exports_path / project_id
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("storage_type", [FlippingStorage, TruncatingStorage])
async def test_an_archive_that_does_not_verify_is_failed_and_removed(
    client: AsyncClient, resources: Resources, storage_type: type[LocalExportStorage]
) -> None:
    seeded, export_id = await _requested(client, resources)
    broken = replace(resources, export_storage=storage_type(resources.settings.exports_path))
    await build(broken, seeded.project_id, export_id)

    status = await _status(client, seeded, export_id)
    assert status["status"] == "failed"
    error = status["error"]
    assert isinstance(error, dict)
    assert error["code"] == "archive_integrity"
    assert status["archive_sha256"] is None
    assert _stored_files(resources, seeded.project_id) == []
    types = [event["type"] for event in await stream_events(resources, seeded.project_id)]
    assert "export.ready" not in types
    assert types[-1] == "export.failed"
    download = await client.get(seeded.url(f"/{export_id}/download"), headers=seeded.headers)
    assert download.status_code == 409
    assert download.json()["error"]["details"] == {"status": "failed"}


async def test_a_failing_storage_is_retried_then_fails_visibly(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _requested(client, resources)
    storage = UnwritableStorage(resources.settings.exports_path)
    broken = replace(resources, export_storage=storage)
    # While the queue has attempts left, a failure goes back to it (the job raises).
    for _ in range(2):
        with pytest.raises(OSError, match="No space left"):
            await build(broken, seeded.project_id, export_id, last_attempt=False)
        assert (await _status(client, seeded, export_id))["status"] == "building"
    await build(broken, seeded.project_id, export_id, last_attempt=True)

    assert storage.attempts == 3
    status = await _status(client, seeded, export_id)
    assert status["status"] == "failed"
    assert status["error"] == {"code": "export_failed", "message": GAVE_UP_MESSAGE}
    failed = [
        event
        for event in await stream_events(resources, seeded.project_id)
        if event["type"] == "export.failed"
    ]
    assert len(failed) == 1
    assert failed[0]["export_id"] == export_id
    # The driver's words stay in the log: the event says only what the client can act on.
    assert "No space" not in str(failed[0])
    # A late duplicate of the job changes nothing.
    await build(resources, seeded.project_id, export_id)
    assert (await _status(client, seeded, export_id))["status"] == "failed"


async def test_a_last_attempt_cancelled_by_its_timeout_fails_visibly(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _requested(client, resources)
    storage = HangingStorage(resources.settings.exports_path)
    hanging = replace(resources, export_storage=storage)
    job = asyncio.create_task(build(hanging, seeded.project_id, export_id, last_attempt=True))
    await asyncio.wait_for(storage.writing.wait(), timeout=10)
    job.cancel()  # what saq does to a job past its timeout
    with pytest.raises(asyncio.CancelledError):
        await job
    status = await _status(client, seeded, export_id)
    assert status["status"] == "failed"
    assert status["error"] == {"code": "export_failed", "message": GAVE_UP_MESSAGE}
    types = [event["type"] for event in await stream_events(resources, seeded.project_id)]
    assert types[-1] == "export.failed"


async def test_a_document_version_gone_missing_fails_the_export(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _requested(client, resources)
    async with resources.engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM document_version WHERE project_id = :id AND document_type = 'specs'"),
            {"id": seeded.project_id},
        )
    await build(resources, seeded.project_id, export_id, last_attempt=False)
    status = await _status(client, seeded, export_id)
    assert status["status"] == "failed"
    assert status["error"] == {
        "code": "archive_integrity",
        "message": "specs version 1 is no longer stored",
    }


async def test_overlapping_attempts_store_the_same_archive(
    client: AsyncClient, resources: Resources
) -> None:
    """A job taken over from a worker thought dead may run beside the first attempt."""
    seeded, export_id = await _requested(client, resources)
    await asyncio.gather(
        build(resources, seeded.project_id, export_id, last_attempt=False),
        build(resources, seeded.project_id, export_id, last_attempt=False),
    )
    status = await _status(client, seeded, export_id)
    assert status["status"] == "ready"
    download = await client.get(seeded.url(f"/{export_id}/download"), headers=seeded.headers)
    assert hashlib.sha256(download.content).hexdigest() == status["archive_sha256"]


async def test_an_export_of_a_project_deleted_meanwhile_leaves_no_file(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _requested(client, resources)
    response = await client.delete(f"/api/v1/projects/{seeded.project_id}", headers=seeded.headers)
    assert response.status_code == 204
    await build(resources, seeded.project_id, export_id)
    assert _stored_files(resources, seeded.project_id) == []
    assert UUID(export_id)


class UndeletableStorage(LocalExportStorage):
    async def delete_project(self, project_id: UUID) -> None:
        raise OSError(5, "Input/output error")


async def test_a_failing_archive_purge_does_not_keep_the_rest_of_a_delete_from_running(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _requested(client, resources)
    await build(resources, seeded.project_id, export_id)
    await resources.redis.set(f"proj:{seeded.project_id}:marker", "x")
    original = resources.export_storage
    resources.export_storage = UndeletableStorage(resources.settings.exports_path)
    try:
        response = await client.delete(
            f"/api/v1/projects/{seeded.project_id}", headers=seeded.headers
        )
    finally:
        resources.export_storage = original
    # The rows are gone and the Redis keys too; the client learns the purge was incomplete.
    assert response.status_code == 500
    assert "Input/output" not in response.text
    assert await resources.redis.exists(f"proj:{seeded.project_id}:marker") == 0
    gone = await client.get(f"/api/v1/projects/{seeded.project_id}", headers=seeded.headers)
    assert gone.status_code == 404
    # The stray archive is the cleanup's to remove.
    assert _stored_files(resources, seeded.project_id) == [f"{export_id}.zip"]
