"""Every search is filtered by the project and its language, whatever it asks for."""

import uuid

import pytest

from app.memory import constants
from app.memory import repository as memory_repository
from app.memory.constants import MemorySource
from app.memory.repository import MemoryPoint
from app.memory.text import content_hash
from app.projects import repository as project_repository
from app.projects.exceptions import ProjectNotFoundError
from app.projects.stages import DocumentType
from tests.integration.memory.conftest import Memory, texts

SECRET_B = "# Pricing\n\nProject B charges 49 euros a month for the Falcon plan."
SECRET_EN = "# Storage\n\nEnglish chunk: the ledger lives in PostgreSQL with nightly backups."


async def test_a_project_never_gets_another_projects_chunks(memory: Memory) -> None:
    project_a = await memory.project("en")
    project_b = await memory.project("en")
    await memory.write_document(project_a, DocumentType.IDEA, "# Idea\n\nA garden planner app.")
    await memory.write_document(project_b, DocumentType.IDEA, SECRET_B)
    await memory.index_document(project_a, DocumentType.IDEA, 1)
    await memory.index_document(project_b, DocumentType.IDEA, 1)

    # B's own words, B's topic, and something unrelated: A only ever sees its own chunk.
    for query in (SECRET_B, "Falcon plan price per month", "euros", "garden", "x"):
        hits = await memory.search(project_a, query, limit=50)
        assert texts(hits) == ["Idea\n\nA garden planner app."], query
    assert texts(await memory.search(project_b, "garden planner", limit=50)) == [
        "Pricing\n\nProject B charges 49 euros a month for the Falcon plan."
    ]


async def test_a_russian_project_never_gets_english_chunks(memory: Memory) -> None:
    russian = await memory.project("ru")
    english = await memory.project("en")
    await memory.write_document(english, DocumentType.ARCHITECTURE, SECRET_EN)
    await memory.index_document(english, DocumentType.ARCHITECTURE, 1)
    await memory.index_section(
        russian, "## Хранение\n\nДанные хранятся в PostgreSQL.", DocumentType.ARCHITECTURE
    )

    # An English point stored under the Russian project's own id (as if written before a
    # language mix-up) is filtered out by the server too.
    stray = "the ledger lives in PostgreSQL with nightly backups"
    [vector] = await memory.store.embedder.embed([stray])
    await memory_repository.upsert(
        memory.store,
        russian,
        [
            MemoryPoint(
                id=str(uuid.uuid4()),
                vector=vector,
                payload={
                    constants.PROJECT_ID: str(russian),
                    constants.LANGUAGE: "en",
                    constants.SOURCE: MemorySource.SECTION,
                    constants.DOCUMENT_TYPE: DocumentType.ARCHITECTURE,
                    constants.VERSION: None,
                    constants.CHUNK_HASH: content_hash(stray),
                    constants.HEADING: None,
                    constants.TEXT: stray,
                },
            )
        ],
    )

    for query in (stray, SECRET_EN, "PostgreSQL backups", "Где хранятся данные?"):
        hits = await memory.search(russian, query, limit=50)
        assert texts(hits) == ["Хранение\n\nДанные хранятся в PostgreSQL."], query
    languages = {payload[constants.LANGUAGE] for payload in await memory.payloads(russian)}
    assert languages == {"ru", "en"}  # the stray point is there; search just never returns it


async def test_a_project_without_a_language_has_no_memory(memory: Memory) -> None:
    project = await memory.project(None)
    assert await memory.search(project, "anything") == []


async def test_a_deleted_project_cannot_be_searched(memory: Memory) -> None:
    project = await memory.project("en")
    async with memory.resources.session_factory() as session:
        await project_repository.delete_project(session, project)
        await session.commit()
    with pytest.raises(ProjectNotFoundError):
        await memory.search(project, "anything")


@pytest.mark.parametrize(("query", "limit"), [(" \n<!-- -->\u200b", None), ("ok", 0)])
async def test_a_search_needs_a_query_and_a_positive_limit(
    memory: Memory, query: str, limit: int | None
) -> None:
    project = await memory.project("en")
    with pytest.raises(ValueError, match=r"empty|positive"):
        await memory.search(project, query, limit=limit)


async def test_a_language_that_is_not_a_code_never_reaches_the_filter(memory: Memory) -> None:
    project = await memory.project("en")
    with pytest.raises(ValueError, match="ISO 639-1"):
        await memory_repository.search(
            memory.store, project, "e'", [0.0] * memory.store.embedder.dimensions, limit=1
        )


async def test_points_are_written_only_under_their_own_project(memory: Memory) -> None:
    project = await memory.project("en")
    other = uuid.uuid4()
    with pytest.raises(ValueError, match="its own project"):
        await memory_repository.upsert(
            memory.store,
            project,
            [
                MemoryPoint(
                    id=str(uuid.uuid4()), vector=[0.0], payload={constants.PROJECT_ID: str(other)}
                )
            ],
        )
    assert await memory_repository.count(memory.store, project) == 0
