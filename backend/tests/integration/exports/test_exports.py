"""Exports through the API: the archive's layout and content, fixed at request time, with a
manifest whose hashes hold, a README in the project's language, expiry and isolation."""

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote
from uuid import UUID, uuid4

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from app.exports import builder
from app.exports.exceptions import ArchiveNotStoredError
from app.exports.storage import archive_key
from app.resources import Resources
from tests.factories import (
    add_member,
    auth_headers,
    create_project,
    create_user,
    seed_document,
    stream_events,
)
from tests.integration.exports.conftest import (
    IDEA_V2,
    PROJECT_NAME,
    SPECS_V1,
    Seeded,
    build,
    seed_russian_project,
)

SLUG = "мой-кофейный-проект-v2-beta"


async def _request(client: AsyncClient, seeded: Seeded) -> dict[str, object]:
    response = await client.post(seeded.url(), headers=seeded.headers)
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


async def _ready_export(client: AsyncClient, resources: Resources) -> tuple[Seeded, str]:
    seeded = await seed_russian_project(client, resources)
    export_id = str((await _request(client, seeded))["id"])
    await build(resources, seeded.project_id, export_id)
    return seeded, export_id


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _archive_path(resources: Resources, project_id: str, export_id: str) -> Path:
    return resources.settings.exports_path / project_id / f"{export_id}.zip"


async def test_the_archive_holds_the_versions_active_at_request_time(
    client: AsyncClient, resources: Resources
) -> None:
    seeded = await seed_russian_project(client, resources)
    accepted = await _request(client, seeded)
    assert accepted["status"] == "queued"
    assert accepted["documents"] == {"idea": 2, "specs": 1, "architecture": None, "plan": None}
    assert accepted["download_path"] is None
    export_id = str(accepted["id"])
    # Written after the request: must not leak into the archive.
    await seed_document(resources, seeded.project_id, "idea", ["# Идея v3 LATER"])
    await seed_document(resources, seeded.project_id, "plan", ["# План LATER"])

    await build(resources, seeded.project_id, export_id)

    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    assert status["status"] == "ready"
    assert status["error"] is None
    assert (
        status["download_path"]
        == f"/api/v1/projects/{seeded.project_id}/exports/{export_id}/download"
    )
    download = await client.get(status["download_path"], headers=seeded.headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert (
        int(download.headers["content-length"]) == len(download.content) == status["archive_bytes"]
    )
    assert _sha256(download.content) == status["archive_sha256"]

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert sorted(archive.namelist()) == sorted(
        f"{SLUG}/{path}"
        for path in (
            "README.md",
            "01-idea/idea.md",
            "02-specs/specs.md",
            "traceability.md",
            "manifest.json",
        )
    )
    assert archive.read(f"{SLUG}/01-idea/idea.md").decode() == IDEA_V2
    assert archive.read(f"{SLUG}/02-specs/specs.md").decode() == SPECS_V1
    assert b"LATER" not in download.content
    assert all(info.flag_bits & 0x800 for info in archive.infolist())  # UTF-8 names

    manifest = json.loads(archive.read(f"{SLUG}/manifest.json"))
    assert manifest["format"] == "jeex-idea-export/1"
    assert manifest["export_id"] == export_id
    assert manifest["project"] == {"id": seeded.project_id, "name": PROJECT_NAME, "slug": SLUG}
    assert manifest["language"] == "ru"
    assert manifest["readme_language"] == "ru"
    generated = datetime.fromisoformat(manifest["generated_at"])
    assert datetime.fromisoformat(manifest["requested_at"]) <= generated
    by_path = {item["path"]: item for item in manifest["files"]}
    assert set(by_path) == {
        "README.md",
        "01-idea/idea.md",
        "02-specs/specs.md",
        "traceability.md",
        "03-architecture/architecture.md",
        "04-plan/plan.md",
    }
    for path in ("README.md", "01-idea/idea.md", "02-specs/specs.md"):
        data = archive.read(f"{SLUG}/{path}")
        assert by_path[path]["status"] == "present"
        assert by_path[path]["sha256"] == _sha256(data)
        assert by_path[path]["bytes"] == len(data)
    assert by_path["01-idea/idea.md"]["version"] == 2
    assert by_path["01-idea/idea.md"]["document_type"] == "idea"
    assert by_path["README.md"]["document_type"] is None
    for path, document_type in (
        ("03-architecture/architecture.md", "architecture"),
        ("04-plan/plan.md", "plan"),
    ):
        assert by_path[path] == {
            "path": path,
            "document_type": document_type,
            "status": "absent",
            "version": None,
            "sha256": None,
            "bytes": None,
        }

    readme = archive.read(f"{SLUG}/README.md").decode()
    assert readme.startswith(f"# {PROJECT_NAME}\n")
    assert f"Документы проекта, выгруженные {generated.date().isoformat()}." in readme
    assert (
        "1. [Идея: Кофейня у дома](01-idea/idea.md) (версия 2) — "
        "Сеть маленьких кофеен рядом с домом."
    ) in readme
    assert "2. [Спецификация 📋](02-specs/specs.md) (версия 1) — Требования к MVP ясны." in readme
    assert "3. Архитектура — *ещё не написан*" in readme
    assert "4. План — *ещё не написан*" in readme
    assert "Второе предложение" not in readme


async def test_progress_and_ready_reach_the_event_stream(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    exported = [
        event
        for event in await stream_events(resources, seeded.project_id)
        if str(event["type"]).startswith("export.")
    ]
    assert [(event["type"], event.get("step"), event.get("percent")) for event in exported] == [
        ("export.progress", "queued", 0),
        ("export.progress", "collecting", 10),
        ("export.progress", "writing", 40),
        ("export.progress", "verifying", 70),
        ("export.ready", None, None),
    ]
    assert {event["export_id"] for event in exported} == {export_id}
    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    assert exported[-1]["expires_at"].replace("Z", "+00:00") == status["expires_at"].replace(
        "Z", "+00:00"
    )
    ready_at = datetime.fromisoformat(status["ready_at"])
    expires_at = datetime.fromisoformat(status["expires_at"])
    assert expires_at - ready_at == timedelta(seconds=resources.settings.export_ttl_seconds)


async def test_the_download_name_is_unicode_with_an_ascii_fallback(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    response = await client.get(seeded.url(f"/{export_id}/download"), headers=seeded.headers)
    disposition = response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    day = datetime.fromisoformat(
        json.loads(archive.read(f"{SLUG}/manifest.json"))["generated_at"]
    ).date()
    ascii_part, unicode_part = disposition.split("; filename*=UTF-8''")
    # Cyrillic has no ASCII form: the fallback is named by the id, not by leftover fragments.
    short_id = seeded.project_id.replace("-", "")[:8]
    assert ascii_part == f'attachment; filename="project-{short_id}-{day}.zip"'
    assert unquote(unicode_part) == f"{SLUG}-{day}.zip"
    assert all(ord(char) < 128 for char in disposition)
    assert response.headers["cache-control"] == "private, no-store"


async def test_before_it_is_built_the_download_is_refused(
    client: AsyncClient, resources: Resources
) -> None:
    seeded = await seed_russian_project(client, resources)
    export_id = (await _request(client, seeded))["id"]
    response = await client.get(seeded.url(f"/{export_id}/download"), headers=seeded.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "export_not_ready"
    assert response.json()["error"]["details"] == {"status": "queued"}


async def test_an_empty_project_exports_every_document_as_absent(
    client: AsyncClient, resources: Resources
) -> None:
    owner = await create_user(resources, "solo@example.com")
    headers = auth_headers(resources, owner)
    project = await create_project(client, headers, "🚀🚀")
    project_id = str(project["id"])
    export_id = str(
        (await client.post(f"/api/v1/projects/{project_id}/exports", headers=headers)).json()["id"]
    )
    await build(resources, project_id, export_id)
    download = await client.get(
        f"/api/v1/projects/{project_id}/exports/{export_id}/download", headers=headers
    )
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    slug = f"project-{project_id.replace('-', '')[:8]}"
    assert sorted(archive.namelist()) == [
        f"{slug}/README.md",
        f"{slug}/manifest.json",
        f"{slug}/traceability.md",
    ]
    manifest = json.loads(archive.read(f"{slug}/manifest.json"))
    assert manifest["language"] is None
    assert manifest["readme_language"] == "en"
    assert [item["status"] for item in manifest["files"]] == ["present", *["absent"] * 4, "present"]
    readme = archive.read(f"{slug}/README.md").decode()
    assert "1. Idea — *not written yet*" in readme
    assert "4. Plan — *not written yet*" in readme


async def test_expired_archives_are_removed_by_the_cleanup(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    stored = _archive_path(resources, seeded.project_id, export_id)
    assert stored.is_file()
    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    expires_at = datetime.fromisoformat(status["expires_at"])

    assert await builder.cleanup(resources, expires_at - timedelta(seconds=1)) == 0
    assert stored.is_file()
    assert await builder.cleanup(resources, expires_at + timedelta(seconds=1)) == 1
    assert not stored.exists()

    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    assert status["status"] == "expired"
    assert status["download_path"] is None
    response = await client.get(seeded.url(f"/{export_id}/download"), headers=seeded.headers)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "export_expired"
    assert await builder.cleanup(resources, expires_at + timedelta(days=1)) == 0


async def test_past_its_expiry_an_archive_is_gone_even_before_the_cleanup(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    async with resources.engine.begin() as connection:
        await connection.execute(
            text("UPDATE export SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": export_id},
        )
    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    assert (status["status"], status["download_path"]) == ("expired", None)
    response = await client.get(seeded.url(f"/{export_id}/download"), headers=seeded.headers)
    assert response.status_code == 410


async def test_exports_whose_every_attempt_must_have_ended_are_failed(
    client: AsyncClient, resources: Resources
) -> None:
    seeded = await seed_russian_project(client, resources)
    export_id = str((await _request(client, seeded))["id"])
    created = datetime.fromisoformat(
        (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()["created_at"]
    )
    longest = builder.longest_build(resources.settings.exports, resources.settings.worker)
    assert await builder.cleanup(resources, created + longest - timedelta(seconds=1)) == 0
    assert await builder.cleanup(resources, created + longest + timedelta(seconds=1)) == 1
    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    assert status["status"] == "failed"
    assert status["error"]["code"] == "export_timed_out"
    events = await stream_events(resources, seeded.project_id)
    assert events[-1]["type"] == "export.failed"
    # A job that turns up afterwards finds nothing to build.
    await build(resources, seeded.project_id, export_id)
    assert not _archive_path(resources, seeded.project_id, export_id).exists()


async def test_the_cleanup_removes_archives_no_ready_export_points_to(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    kept = _archive_path(resources, seeded.project_id, export_id)
    # As a worker that died between storing and marking would leave them.
    stray = kept.with_name(f"{uuid4()}.zip")
    stray.write_bytes(b"left behind")
    gone_project = resources.settings.exports_path / str(uuid4())
    gone_project.mkdir()
    (gone_project / f"{uuid4()}.zip").write_bytes(b"of a deleted project")
    settled = datetime.now(UTC) + builder.longest_build(
        resources.settings.exports, resources.settings.worker
    )

    # Young files may be builds in progress: left alone.
    await builder.cleanup(resources, datetime.now(UTC))
    assert stray.exists()
    await builder.cleanup(resources, settled + timedelta(seconds=1))
    assert not stray.exists()
    assert list(gone_project.iterdir()) == []
    # A ready archive stays until it expires (a day, far beyond the longest build).
    assert kept.exists()


async def test_a_member_of_another_project_gets_404_for_the_export(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    bob = await create_user(resources, "bob@example.com")
    bob_headers = auth_headers(resources, bob)
    bobs = str((await create_project(client, bob_headers, "Bob's"))["id"])
    for project_id in (seeded.project_id, bobs):
        for tail in ("", "/download"):
            response = await client.get(
                f"/api/v1/projects/{project_id}/exports/{export_id}{tail}", headers=bob_headers
            )
            assert response.status_code == 404, (project_id, tail)
            assert "кофе" not in response.text
            assert SLUG not in response.text


async def test_a_viewer_downloads_but_cannot_request(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    viewer = await create_user(resources, "viewer@example.com")
    await add_member(
        client, resources, seeded.headers, seeded.project_id, "viewer@example.com", "viewer"
    )
    headers = auth_headers(resources, viewer)
    assert (await client.post(seeded.url(), headers=headers)).status_code == 403
    response = await client.get(seeded.url(f"/{export_id}/download"), headers=headers)
    assert response.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None


async def test_deleting_the_project_removes_its_archives(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    folder = _archive_path(resources, seeded.project_id, export_id).parent
    assert folder.is_dir()
    response = await client.delete(f"/api/v1/projects/{seeded.project_id}", headers=seeded.headers)
    assert response.status_code == 204
    assert not folder.exists()


async def test_asking_again_for_the_same_content_answers_the_same_export(
    client: AsyncClient, resources: Resources
) -> None:
    seeded = await seed_russian_project(client, resources)
    first = await client.post(seeded.url(), headers=seeded.headers)
    again = await client.post(seeded.url(), headers=seeded.headers)
    assert again.json()["id"] == first.json()["id"]
    assert (
        again.headers["location"]
        == first.headers["location"]
        == seeded.url(f"/{first.json()['id']}")
    )
    await build(resources, seeded.project_id, first.json()["id"])
    ready = await client.post(seeded.url(), headers=seeded.headers)
    assert ready.json()["id"] == first.json()["id"]
    assert ready.json()["status"] == "ready"
    assert ready.json()["download_path"].endswith("/download")
    # New content, a new export.
    await seed_document(resources, seeded.project_id, "plan", ["# План"])
    changed = await client.post(seeded.url(), headers=seeded.headers)
    assert changed.json()["id"] != first.json()["id"]
    assert changed.json()["documents"]["plan"] == 1
    listed = (await client.get(seeded.url(), headers=seeded.headers)).json()
    assert [item["id"] for item in listed] == [changed.json()["id"], first.json()["id"]]
    assert [item["status"] for item in listed] == ["queued", "ready"]
    limited = await client.get(seeded.url(), params={"limit": 1}, headers=seeded.headers)
    assert [item["id"] for item in limited.json()] == [changed.json()["id"]]


async def test_deleting_an_export_removes_its_archive_at_once(
    client: AsyncClient, resources: Resources
) -> None:
    seeded, export_id = await _ready_export(client, resources)
    stored = _archive_path(resources, seeded.project_id, export_id)
    assert stored.exists()
    response = await client.delete(seeded.url(f"/{export_id}"), headers=seeded.headers)
    assert response.status_code == 204
    assert not stored.exists()
    for tail in ("", "/download"):
        gone = await client.get(seeded.url(f"/{export_id}{tail}"), headers=seeded.headers)
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "export_not_found"
    again = await client.delete(seeded.url(f"/{export_id}"), headers=seeded.headers)
    assert again.status_code == 404


async def test_an_opened_archive_is_read_whole_though_removed_meanwhile(
    client: AsyncClient, resources: Resources
) -> None:
    """What a download streams: once the API opened the archive, a cleanup or a delete that
    removes the file cannot cut the body short of its announced length."""
    seeded, export_id = await _ready_export(client, resources)
    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    response = await client.get(seeded.url(f"/{export_id}/download"), headers=seeded.headers)
    assert response.headers["etag"] == f'"{status["archive_sha256"]}"'

    key = archive_key(UUID(seeded.project_id), UUID(export_id))
    opened = await resources.export_storage.open(key)
    _archive_path(resources, seeded.project_id, export_id).unlink()
    body = b"".join([chunk async for chunk in opened.chunks()])
    assert len(body) == opened.size == status["archive_bytes"]
    assert _sha256(body) == status["archive_sha256"]
    with pytest.raises(ArchiveNotStoredError):
        await resources.export_storage.open(key)
