"""Sections and messages are remembered beside the documents, each text once per search."""

from app.memory import service as memory_service
from app.memory.constants import MemorySource
from app.projects.stages import DocumentType
from tests.integration.memory.conftest import Memory

SECTION = "## Components\n\nA React front end talks to a FastAPI backend; Qdrant keeps the vectors."


async def test_an_expert_section_can_be_found(memory: Memory) -> None:
    project = await memory.project("en")
    result = await memory.index_section(project, SECTION, DocumentType.ARCHITECTURE)
    assert (result.chunks, result.embedded) == (1, 1)
    [hit] = await memory.search(project, "which database holds the embeddings?")
    assert hit.source is MemorySource.SECTION
    assert hit.document_type is DocumentType.ARCHITECTURE
    assert hit.version is None
    assert hit.heading == "Components"
    assert hit.text.startswith("Components\n\nA React front end")


async def test_a_section_copied_into_the_document_is_embedded_once_and_found_once(
    memory: Memory,
) -> None:
    project = await memory.project("en")
    await memory.index_section(project, SECTION, DocumentType.ARCHITECTURE)
    await memory.write_document(project, DocumentType.ARCHITECTURE, SECTION)
    indexed = await memory.index_document(project, DocumentType.ARCHITECTURE, 1)
    assert (indexed.chunks, indexed.embedded) == (1, 0)

    assert len(await memory.points(project)) == 2  # one owned by the section, one by the document
    hits = await memory.search(project, "FastAPI backend", limit=10)
    assert len(hits) == 1


async def test_a_users_message_can_be_found(memory: Memory) -> None:
    project = await memory.project("en")
    async with memory.resources.session_factory() as session:
        result = await memory_service.index_message(
            session,
            memory.store,
            project,
            text="1.b, and we must support invoices from Germany and Austria.",
            stage=DocumentType.IDEA,
        )
    assert result.chunks == 1
    [hit] = await memory.search(project, "Which countries are supported?")
    assert hit.source is MemorySource.MESSAGE
    assert hit.document_type is DocumentType.IDEA
    assert "Germany" in hit.text
