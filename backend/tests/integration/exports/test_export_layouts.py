"""Export layouts through the API: the format asked for is the one packed, each with its own
files and a manifest whose hashes hold; the same request in the same layout is answered by the
same export; and the openspec export passes OpenSpec's own strict validation."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from httpx import AsyncClient

from app.resources import Resources
from tests.export_documents import DOCUMENTS
from tests.factories import auth_headers, create_project, create_user, seed_document
from tests.integration.exports.conftest import Seeded, build
from tests.support.openspec import validate_strict

SLUG = "corner-bakery"
DOCUMENT_FILES = {
    "README.md",
    "01-idea/idea.md",
    "02-specs/specs.md",
    "03-architecture/architecture.md",
    "04-plan/plan.md",
    "traceability.md",
    "manifest.json",
}
LAYOUT_FILES = {
    "jeex": set(),
    "agents": {"AGENTS.md"},
    "spec-kit": {
        "specs/001-corner-bakery/spec.md",
        "specs/001-corner-bakery/plan.md",
        "specs/001-corner-bakery/tasks.md",
        ".specify/memory/constitution.md",
    },
    "kiro": {
        ".kiro/specs/corner-bakery/requirements.md",
        ".kiro/specs/corner-bakery/design.md",
        ".kiro/specs/corner-bakery/tasks.md",
        ".kiro/steering/product.md",
        ".kiro/steering/tech.md",
        ".kiro/steering/structure.md",
    },
    "openspec": {
        "openspec/project.md",
        "openspec/specs/coding-standards/spec.md",
        "openspec/specs/security-requirements/spec.md",
        "openspec/specs/test-strategy/spec.md",
        "openspec/specs/data-protection/spec.md",
    },
}


async def _seed_bakery(client: AsyncClient, resources: Resources) -> Seeded:
    owner = await create_user(resources, "baker@example.com")
    headers = auth_headers(resources, owner)
    project = await create_project(client, headers, "Corner Bakery")
    project_id = str(project["id"])
    for document_type, content in DOCUMENTS.items():
        await seed_document(resources, project_id, document_type.value, [content])
    return Seeded(project_id=project_id, headers=headers)


async def _request(client: AsyncClient, seeded: Seeded, body: object) -> dict[str, object]:
    response = await client.post(seeded.url(), headers=seeded.headers, json=body)
    assert response.status_code == 202, response.text
    answer: dict[str, object] = response.json()
    return answer


async def _download(
    client: AsyncClient, resources: Resources, seeded: Seeded, export_format: str
) -> zipfile.ZipFile:
    export_id = str((await _request(client, seeded, {"format": export_format}))["id"])
    await build(resources, seeded.project_id, export_id)
    status = (await client.get(seeded.url(f"/{export_id}"), headers=seeded.headers)).json()
    assert status["status"] == "ready", status
    assert status["format"] == export_format
    download = await client.get(status["download_path"], headers=seeded.headers)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == status["archive_sha256"]
    return zipfile.ZipFile(io.BytesIO(download.content))


@pytest.mark.parametrize("export_format", sorted(LAYOUT_FILES))
async def test_each_format_packs_its_layout_with_a_manifest_whose_hashes_hold(
    client: AsyncClient, resources: Resources, export_format: str
) -> None:
    seeded = await _seed_bakery(client, resources)
    archive = await _download(client, resources, seeded, export_format)

    names = {name.removeprefix(f"{SLUG}/") for name in archive.namelist()}
    assert names == DOCUMENT_FILES | LAYOUT_FILES[export_format]
    manifest = json.loads(archive.read(f"{SLUG}/manifest.json"))
    assert manifest["layout"] == export_format
    assert {item["path"] for item in manifest["files"]} == names - {"manifest.json"}
    for item in manifest["files"]:
        data = archive.read(f"{SLUG}/{item['path']}")
        assert item["sha256"] == hashlib.sha256(data).hexdigest(), item["path"]
        assert item["bytes"] == len(data)
    idea = await client.get(
        f"/api/v1/projects/{seeded.project_id}/documents/idea", headers=seeded.headers
    )
    # The active version as stored: its items carry the ids the engine gave them.
    assert archive.read(f"{SLUG}/01-idea/idea.md").decode() == idea.json()["content"]
    assert "- **G-1** Small bakeries with one or two shops" in idea.json()["content"]


async def test_the_same_request_in_the_same_format_is_answered_by_the_same_export(
    client: AsyncClient, resources: Resources
) -> None:
    seeded = await _seed_bakery(client, resources)
    no_body = await client.post(seeded.url(), headers=seeded.headers)
    assert no_body.status_code == 202
    assert no_body.json()["format"] == "jeex"
    jeex = await _request(client, seeded, {"format": "jeex"})
    kiro = await _request(client, seeded, {"format": "kiro"})
    kiro_again = await _request(client, seeded, {"format": "kiro"})
    openspec = await _request(client, seeded, {"format": "openspec"})

    assert jeex["id"] == no_body.json()["id"]
    assert kiro["id"] == kiro_again["id"]
    assert len({jeex["id"], kiro["id"], openspec["id"]}) == 3
    assert (kiro["format"], openspec["format"]) == ("kiro", "openspec")
    listed = (await client.get(seeded.url(), headers=seeded.headers)).json()
    assert sorted(item["format"] for item in listed) == ["jeex", "kiro", "openspec"]


@pytest.mark.parametrize("body", [{"format": "markdown"}, {"format": None}, {"layout": "kiro"}])
async def test_an_unknown_format_is_refused(
    client: AsyncClient, resources: Resources, body: object
) -> None:
    seeded = await _seed_bakery(client, resources)
    response = await client.post(seeded.url(), headers=seeded.headers, json=body)
    assert response.status_code == 422
    listed = (await client.get(seeded.url(), headers=seeded.headers)).json()
    assert listed == []


async def test_the_openspec_export_passes_openspec_validate_strict(
    client: AsyncClient, resources: Resources, tmp_path: Path
) -> None:
    seeded = await _seed_bakery(client, resources)
    archive = await _download(client, resources, seeded, "openspec")
    archive.extractall(tmp_path)

    exit_code, report = validate_strict(tmp_path / SLUG)

    assert [(item["id"], item["valid"], item["issues"]) for item in report["items"]] == [
        (name, True, [])
        for name in (
            "coding-standards",
            "data-protection",
            "security-requirements",
            "test-strategy",
        )
    ], report
    assert report["summary"]["totals"] == {"items": 4, "passed": 4, "failed": 0}
    assert exit_code == 0


async def test_openspec_validate_strict_catches_a_broken_spec(tmp_path: Path) -> None:
    """The check above can fail: a spec without scenarios or SHALL is refused."""
    spec = tmp_path / "openspec" / "specs" / "broken" / "spec.md"
    spec.parent.mkdir(parents=True)
    spec.write_text(
        "# Broken\n\n## Purpose\nA purpose long enough to pass the length rule of fifty chars.\n"
        "\n## Requirements\n\n### Requirement: Vague\nThe system does things.\n"
    )
    exit_code, report = validate_strict(tmp_path)
    assert exit_code != 0
    assert report["items"][0]["valid"] is False
