"""Indexing as jobs: what a turn wrote is embedded after the commit, off the turn's path.

A conversation step commits a document version or an expert's section and queues one of these
jobs with it (released only after the commit), on a lane of its own, where it holds up neither
another project's conversation nor an export. The indexing functions already tolerate running
late, twice or after the project's deletion (see :mod:`app.memory.service`), so a retried job
is harmless.
"""

from typing import Protocol
from uuid import UUID

from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.jobs import JobContext, memory_lane
from app.memory import service as memory_service
from app.memory.store import MemoryStore
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

INDEX_VERSION = "index_document_version"
INDEX_SECTION = "index_section"
FOLLOW_LANGUAGE = "follow_project_language"
_RETRIES = 3
_TIMEOUT_SECONDS = 600


class IndexingResources(Protocol):
    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def memory(self) -> MemoryStore: ...


async def enqueue_version(
    queue: Queue, project_id: UUID, document_type: DocumentType, version: int
) -> None:
    await memory_lane(queue).enqueue(
        INDEX_VERSION,
        # One job per version: queuing it twice while it waits is a no-op in saq.
        key=f"index:{project_id}:{document_type}:{version}",
        project_id=str(project_id),
        document_type=document_type.value,
        version=version,
        retries=_RETRIES,
        timeout=_TIMEOUT_SECONDS,
    )


async def enqueue_section(
    queue: Queue,
    project_id: UUID,
    document_type: DocumentType,
    expert: str,
    message_id: UUID,
    text: str,
) -> None:
    await memory_lane(queue).enqueue(
        INDEX_SECTION,
        key=f"index:{project_id}:section:{message_id}",
        project_id=str(project_id),
        document_type=document_type.value,
        expert=expert,
        text=text,
        retries=_RETRIES,
        timeout=_TIMEOUT_SECONDS,
    )


async def enqueue_language_change(queue: Queue, project_id: UUID) -> None:
    # No job key: a second correction while the first job waits must still be followed (each
    # job reads the language as it is when it runs, so the last one leaves it right).
    await memory_lane(queue).enqueue(
        FOLLOW_LANGUAGE, project_id=str(project_id), retries=_RETRIES, timeout=_TIMEOUT_SECONDS
    )


async def index_version(
    ctx: JobContext, *, project_id: str, document_type: str, version: int
) -> None:
    resources: IndexingResources = ctx["resources"]
    # The id comes from a version row a conversation step wrote for an admitted user.
    scoped = AccessibleProjectID(UUID(project_id))
    async with resources.session_factory() as session:
        await memory_service.index_document_version(
            session, resources.memory, scoped, DocumentType(document_type), version
        )


async def index_section(
    ctx: JobContext, *, project_id: str, document_type: str, expert: str, text: str
) -> None:
    resources: IndexingResources = ctx["resources"]
    scoped = AccessibleProjectID(UUID(project_id))
    async with resources.session_factory() as session:
        await memory_service.index_section(
            session,
            resources.memory,
            scoped,
            document_type=DocumentType(document_type),
            expert=expert,
            text=text,
        )


async def follow_language(ctx: JobContext, *, project_id: str) -> None:
    resources: IndexingResources = ctx["resources"]
    # The id comes from a project whose owner corrected its language through the guard.
    scoped = AccessibleProjectID(UUID(project_id))
    async with resources.session_factory() as session:
        await memory_service.follow_language(session, resources.memory, scoped)
