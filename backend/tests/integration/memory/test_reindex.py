"""A new document version replaces the old one's chunks, whatever order the jobs run in."""

import pytest

from app.documents.exceptions import VersionNotFoundError
from app.memory import constants
from app.memory.constants import MemorySource
from app.memory.exceptions import ProjectLanguageUnknownError
from app.projects.stages import DocumentType
from tests.integration.memory.conftest import Memory, hooked_store, texts

V1 = (
    "# Plan\n\n## Phase 1\n\nBuild the ingestion pipeline for supplier invoices.\n\n"
    "## Phase 2\n\nShip the approval workflow to the finance team."
)
V2 = (
    "# Plan\n\n## Phase 1\n\nBuild the ingestion pipeline for supplier invoices.\n\n"
    "## Phase 2\n\nReplace the approval workflow with automatic matching of purchase orders."
)
V3 = "# Plan\n\n## Phase 1\n\nStart with a spreadsheet import; the pipeline comes later."


async def test_after_a_new_version_search_returns_only_its_chunks(memory: Memory) -> None:
    project = await memory.project("en")
    await memory.write_document(project, DocumentType.PLAN, V1)
    first = await memory.index_document(project, DocumentType.PLAN, 1)
    assert (first.chunks, first.embedded, first.skipped) == (2, 2, False)

    await memory.write_document(project, DocumentType.PLAN, V2)
    second = await memory.index_document(project, DocumentType.PLAN, 2)
    # The unchanged phase reuses its stored vector; only the changed one is embedded.
    assert (second.chunks, second.embedded) == (2, 1)

    hits = await memory.search(project, "approval workflow for the finance team", limit=50)
    assert {hit.version for hit in hits} == {2}
    assert {hit.source for hit in hits} == {MemorySource.DOCUMENT}
    assert {hit.document_type for hit in hits} == {DocumentType.PLAN}
    assert not any("finance team" in text for text in texts(hits))
    assert {payload[constants.VERSION] for payload in await memory.payloads(project)} == {2}


async def test_a_late_job_for_an_older_version_changes_nothing(memory: Memory) -> None:
    project = await memory.project("en")
    await memory.write_document(project, DocumentType.PLAN, V1, V2)
    assert (await memory.index_document(project, DocumentType.PLAN, 2)).skipped is False
    late = await memory.index_document(project, DocumentType.PLAN, 1)
    assert late.skipped is True
    assert {payload[constants.VERSION] for payload in await memory.payloads(project)} == {2}


async def test_a_version_superseded_while_it_was_embedded_removes_its_own_chunks(
    memory: Memory,
) -> None:
    project = await memory.project("en")
    await memory.write_document(project, DocumentType.PLAN, V1, V2)
    committed: list[bool] = []

    async def version_3_lands() -> None:
        if not committed:
            committed.append(True)
            await memory.write_document(project, DocumentType.PLAN, V3)
            await memory.index_document(project, DocumentType.PLAN, 3)

    # Version 3 is committed and indexed while version 2's job is still embedding.
    slow = Memory(memory.resources, hooked_store(memory.resources, version_3_lands))
    result = await slow.index_document(project, DocumentType.PLAN, 2)
    assert committed == [True]
    assert result.skipped is False
    assert {payload[constants.VERSION] for payload in await memory.payloads(project)} == {3}
    assert texts(await memory.search(project, "pipeline", limit=50)) == [
        "Plan > Phase 1\n\nStart with a spreadsheet import; the pipeline comes later."
    ]


async def test_each_document_keeps_its_own_chunks(memory: Memory) -> None:
    project = await memory.project("en")
    await memory.write_document(project, DocumentType.IDEA, "# Idea\n\nInvoices without paper.")
    await memory.write_document(project, DocumentType.PLAN, V1, V3)
    await memory.index_document(project, DocumentType.IDEA, 1)
    await memory.index_document(project, DocumentType.PLAN, 2)
    kinds = {
        (payload[constants.DOCUMENT_TYPE], payload[constants.VERSION])
        for payload in await memory.payloads(project)
    }
    assert kinds == {("idea", 1), ("plan", 2)}


async def test_indexing_the_same_version_twice_stores_it_once(memory: Memory) -> None:
    project = await memory.project("en")
    await memory.write_document(project, DocumentType.PLAN, V1)
    await memory.index_document(project, DocumentType.PLAN, 1)
    again = await memory.index_document(project, DocumentType.PLAN, 1)
    assert (again.chunks, again.embedded) == (2, 0)
    assert len(await memory.points(project)) == 2


async def test_a_missing_version_is_reported(memory: Memory) -> None:
    project = await memory.project("en")
    with pytest.raises(VersionNotFoundError):
        await memory.index_document(project, DocumentType.PLAN, 1)


async def test_nothing_is_indexed_before_the_project_has_a_language(memory: Memory) -> None:
    project = await memory.project(None)
    await memory.write_document(project, DocumentType.IDEA, "# Idea\n\nSomething.")
    with pytest.raises(ProjectLanguageUnknownError):
        await memory.index_document(project, DocumentType.IDEA, 1)
    with pytest.raises(ProjectLanguageUnknownError):
        await memory.index_section(project, "Something.", DocumentType.IDEA)
    assert await memory.points(project) == []
