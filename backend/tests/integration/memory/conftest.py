"""Project memory against the session's real parts: PostgreSQL, Qdrant in local mode on disk,
and the real local embeddings model (the first test to embed pays for loading it)."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from qdrant_client import models

from app.memory import constants
from app.memory import service as memory_service
from app.memory.embeddings import Embedder
from app.memory.schemas import IndexResult, MemoryHit
from app.memory.store import MemoryStore
from app.projects import repository as project_repository
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType
from app.resources import Resources
from tests.factories import create_user, seed_document


class Memory:
    """The service's entry points, each in its own session as the job worker would call them."""

    def __init__(self, resources: Resources, store: MemoryStore | None = None) -> None:
        self.resources = resources
        self.store = store or resources.memory

    async def project(self, language: str | None) -> AccessibleProjectID:
        owner = await create_user(self.resources, f"{uuid4()}@example.com")
        async with self.resources.session_factory() as session:
            project = await project_repository.add_project(
                session, name="Memory", description=None, owner_id=owner
            )
            project.language = language
            await session.commit()
            return AccessibleProjectID(project.id)

    async def write_document(
        self, project_id: UUID, document_type: DocumentType, *contents: str
    ) -> None:
        await seed_document(self.resources, project_id, document_type, list(contents))

    async def index_document(
        self, project_id: AccessibleProjectID, document_type: DocumentType, version: int
    ) -> IndexResult:
        async with self.resources.session_factory() as session:
            return await memory_service.index_document_version(
                session, self.store, project_id, document_type, version
            )

    async def index_section(
        self, project_id: AccessibleProjectID, text: str, document_type: DocumentType
    ) -> IndexResult:
        async with self.resources.session_factory() as session:
            return await memory_service.index_section(
                session,
                self.store,
                project_id,
                document_type=document_type,
                expert="solution_architect",
                text=text,
            )

    async def search(
        self, project_id: AccessibleProjectID, query: str, limit: int | None = None
    ) -> list[MemoryHit]:
        async with self.resources.session_factory() as session:
            return await memory_service.search(session, self.store, project_id, query, limit=limit)

    async def points(self, project_id: UUID) -> list[models.Record]:
        """Every stored point of the project, read straight from the collection."""
        records, _ = await self.store.qdrant.scroll(
            await self.store.collection(),
            scroll_filter=models.Filter(
                must=[
                    models.FieldCondition(
                        key=constants.PROJECT_ID, match=models.MatchValue(value=str(project_id))
                    )
                ]
            ),
            limit=10_000,
            with_payload=True,
        )
        return records

    async def payloads(self, project_id: UUID) -> list[dict[str, Any]]:
        """The payload of every stored point of the project (each point has one)."""
        points = await self.points(project_id)
        assert all(point.payload is not None for point in points)
        return [point.payload for point in points if point.payload is not None]


@pytest.fixture
def memory(resources: Resources, clean_state: None) -> Memory:
    return Memory(resources)


class HookedEmbedder(Embedder):
    """The real embedder, with something else happening while it computes: how a job meets a
    commit made by another process in the middle of its work."""

    def __init__(self, inner: Embedder, hook: Callable[[], Awaitable[None]]) -> None:
        super().__init__(
            model=inner.model, dimensions=inner.dimensions, batch_size=inner.batch_size
        )
        self.inner = inner
        self.hook = hook

    async def warm_up(self) -> None:
        await self.inner.warm_up()

    async def aclose(self) -> None:
        """The inner embedder belongs to the session's app."""

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        await self.hook()
        return await self.inner.embed(texts)


def hooked_store(resources: Resources, hook: Callable[[], Awaitable[None]]) -> MemoryStore:
    return MemoryStore(
        resources.settings.memory, resources.qdrant, HookedEmbedder(resources.memory.embedder, hook)
    )


def texts(hits: Sequence[MemoryHit]) -> list[str]:
    return [hit.text for hit in hits]
