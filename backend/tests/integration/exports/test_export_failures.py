"""An archive that does not read back as built is never offered; a storage that fails is
retried, then the export fails visibly."""

from collections.abc import AsyncIterator
from dataclasses import replace
from uuid import UUID

import pytest
from httpx import AsyncClient

from app.core.resources import Resources
from app.exports.storage import LocalExportStorage
from tests.factories import stream_events
from tests.integration.exports.conftest import Seeded, build, seed_russian_project


class FlippingStorage(LocalExportStorage):
    """Stores every archive with one byte changed, as a failing disk or bucket might."""

    async def put(self, key: str, data: bytes) -> None:
        middle = len(data) // 2
        await super().put(key, data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])


class TruncatingStorage(LocalExportStorage):
    """Reads back only the first half of what it holds."""

    async def read(self, key: str) -> AsyncIterator[bytes]:
        data = b"".join([chunk async for chunk in super().read(key)])
        yield data[: len(data) // 2]


class UnwritableStorage(LocalExportStorage):
    def __init__(self, root: object) -> None:
        super().__init__(root)  # type: ignore[arg-type]
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
    attempts = resources.settings.export_max_attempts
    # The queue runs the job again while attempts remain; each earlier attempt re-raises.
    for _ in range(attempts - 1):
        with pytest.raises(OSError, match="No space left"):
            await build(broken, seeded.project_id, export_id)
        assert (await _status(client, seeded, export_id))["status"] == "building"
    await build(broken, seeded.project_id, export_id)

    assert storage.attempts == attempts
    status = await _status(client, seeded, export_id)
    assert status["status"] == "failed"
    assert status["error"] == {
        "code": "export_failed",
        "message": f"The archive could not be built after {attempts} attempts.",
    }
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


async def test_an_export_of_a_project_deleted_meanwhile_leaves_no_file(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _requested(client, resources)
    response = await client.delete(f"/api/v1/projects/{seeded.project_id}", headers=seeded.headers)
    assert response.status_code == 204
    await build(resources, seeded.project_id, export_id)
    assert _stored_files(resources, seeded.project_id) == []
    assert UUID(export_id)
