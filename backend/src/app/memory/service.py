"""Project memory: what agents remember of a project, and the only way to search it.

Entry points (all plain coroutines; ``memory`` is ``Resources.memory``):

- ``search(session, memory, project_id, query)``: the closest chunks of this project, in the
  project's language. The project id and the language go into the Qdrant filter here, always;
  there is no parameter to pass another filter. A project whose language is not known yet has
  no memory, so its searches return nothing.
- ``index_document_version(session, memory, project_id, document_type, version)``: after a new
  version is committed. The document's older chunks are replaced.
- ``index_section(session, memory, project_id, document_type=, expert=, text=)``: after an
  expert's section is written in the chat.
- ``index_message(session, memory, project_id, text=, stage=)``: a user's message.
- ``purge_project(memory, project_id)``: every point of the project (project deletion).
- ``follow_language(session, memory, project_id)``: after an owner corrected the project's
  language, every point takes the new one.

Indexing embeds text, which takes from milliseconds (a remote endpoint) to seconds (the local
model on a long document): it belongs in the job worker, after the commit that made the text,
never inside a request. A worker in its own process opens its own ``Resources`` and awaits
``resources.memory.start()`` first; with Qdrant in local mode (which locks its folder to one
process) the worker must run inside the API process instead.

Jobs may run late, twice, or concurrently with the next version or with the project's
deletion. Each write is therefore followed by a check of the database, and undone when the
world moved on while it embedded: a version that is no longer the latest removes its own chunks
(the newer version's job removes everything older), and a project deleted meanwhile is purged
again, and points written under a language the owner corrected meanwhile take the new one.
Point ids derive from the project, the owner and the chunk's hash, so a repeated job
overwrites instead of duplicating.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from qdrant_client import models
from sqlalchemy.ext.asyncio import AsyncSession

from app.documents import repository as document_repository
from app.documents.exceptions import VersionNotFoundError
from app.memory import constants
from app.memory import repository as memory_repository
from app.memory.constants import MemorySource
from app.memory.exceptions import ProjectLanguageUnknownError
from app.memory.repository import MemoryPoint
from app.memory.schemas import IndexResult, MemoryHit
from app.memory.store import MemoryStore
from app.memory.text import Chunk, chunk_markdown, normalise
from app.projects import repository as project_repository
from app.projects.exceptions import ProjectNotFoundError
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType


async def search(
    session: AsyncSession,
    memory: MemoryStore,
    project_id: AccessibleProjectID,
    query: str,
    *,
    limit: int | None = None,
    exclude_document: DocumentType | None = None,
) -> list[MemoryHit]:
    """Up to ``limit`` (default ``JEEX_MEMORY_SEARCH_LIMIT``) chunks closest to ``query``,
    best first, from this project and in its language only; without the chunks of
    ``exclude_document`` when the caller has that document at hand already."""
    text = normalise(query)
    if not text:
        raise ValueError("the memory query is empty")
    if limit is not None and limit < 1:
        raise ValueError("the limit must be positive")
    language = await _language(session, project_id)
    if language is None:
        return []
    [vector] = await memory.embedder.embed([text])
    return await memory_repository.search(
        memory,
        project_id,
        language,
        vector,
        limit=limit or memory.settings.search_limit,
        exclude_document=exclude_document.value if exclude_document else None,
    )


async def index_document_version(
    session: AsyncSession,
    memory: MemoryStore,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    version: int,
) -> IndexResult:
    """Index ``version`` of the document in place of its earlier versions.

    Does nothing when a newer version exists already: that version's own job indexes it.
    """
    language = await _required_language(session, project_id)
    document = await document_repository.get_version(session, project_id, document_type, version)
    if document is None:
        raise VersionNotFoundError(f"The {document_type} document has no version {version}.")
    latest = await document_repository.latest(session, project_id, document_type)
    if latest is None or latest.version != version:
        return IndexResult(chunks=0, embedded=0, skipped=True)
    chunks = _chunks(memory, document.content)
    embedded = await _write(
        memory,
        project_id,
        chunks,
        scope=f"{MemorySource.DOCUMENT}:{document_type}:{version}",
        payload={
            constants.LANGUAGE: language,
            constants.SOURCE: MemorySource.DOCUMENT,
            constants.DOCUMENT_TYPE: document_type,
            constants.VERSION: version,
            constants.AUTHOR: document.author_agent,
        },
    )
    await memory_repository.delete_document_chunks(
        memory, project_id, document_type, versions=models.Range(lt=version)
    )
    # Re-read: a newer version or the project's deletion may have been committed meanwhile.
    now = await document_repository.latest(session, project_id, document_type)
    if now is not None:
        await _keep_language(session, memory, project_id, language)
    if now is None:
        await memory_repository.delete_project(memory, project_id)
    elif now.version != version:
        await memory_repository.delete_document_chunks(
            memory, project_id, document_type, versions=models.Range(gte=version, lte=version)
        )
    return IndexResult(chunks=len(chunks), embedded=embedded)


async def index_section(
    session: AsyncSession,
    memory: MemoryStore,
    project_id: AccessibleProjectID,
    *,
    document_type: DocumentType,
    expert: str,
    text: str,
) -> IndexResult:
    """Index an expert's section (Markdown) written for ``document_type``'s stage."""
    return await _index_text(
        session,
        memory,
        project_id,
        text,
        scope=f"{MemorySource.SECTION}:{document_type}",
        payload={
            constants.SOURCE: MemorySource.SECTION,
            constants.DOCUMENT_TYPE: document_type,
            constants.VERSION: None,
            constants.AUTHOR: expert,
        },
    )


async def index_message(
    session: AsyncSession,
    memory: MemoryStore,
    project_id: AccessibleProjectID,
    *,
    text: str,
    stage: DocumentType | None,
) -> IndexResult:
    """Index a user's message (their answers in their own words)."""
    return await _index_text(
        session,
        memory,
        project_id,
        text,
        scope=str(MemorySource.MESSAGE),
        payload={
            constants.SOURCE: MemorySource.MESSAGE,
            constants.DOCUMENT_TYPE: stage,
            constants.VERSION: None,
            constants.AUTHOR: None,
        },
    )


async def follow_language(
    session: AsyncSession, memory: MemoryStore, project_id: AccessibleProjectID
) -> None:
    """Every point of the project under the project's language as the database has it now.

    Queued after the commit that corrected the language. An indexing job that read the old
    language and wrote after this ran puts its points right itself: it reads the language again
    once it has written (see ``_keep_language``).
    """
    language = await _language(session, project_id)
    if language is not None:
        await memory_repository.relabel_language(memory, project_id, language)


async def _keep_language(
    session: AsyncSession, memory: MemoryStore, project_id: AccessibleProjectID, written: str
) -> None:
    try:
        now = await project_repository.project_language(session, project_id)
    except LookupError:
        return  # deleted meanwhile: the caller purges
    if now is not None and now != written:
        await memory_repository.relabel_language(memory, project_id, now)


async def purge_project(memory: MemoryStore, project_id: AccessibleProjectID) -> None:
    """Remove every point of the project, whatever its source or language."""
    await memory_repository.delete_project(memory, project_id)


async def _index_text(
    session: AsyncSession,
    memory: MemoryStore,
    project_id: AccessibleProjectID,
    text: str,
    *,
    scope: str,
    payload: Mapping[str, Any],
) -> IndexResult:
    language = await _required_language(session, project_id)
    chunks = _chunks(memory, text)
    embedded = await _write(
        memory, project_id, chunks, scope=scope, payload={**payload, constants.LANGUAGE: language}
    )
    try:
        now = await project_repository.project_language(session, project_id)
    except LookupError:
        # Deleted while this was embedding: its purge may have run before the write above.
        await memory_repository.delete_project(memory, project_id)
    else:
        if now is not None and now != language:
            await memory_repository.relabel_language(memory, project_id, now)
    return IndexResult(chunks=len(chunks), embedded=embedded)


def _chunks(memory: MemoryStore, text: str) -> list[Chunk]:
    settings = memory.settings
    return chunk_markdown(
        text,
        max_chars=settings.chunk_max_chars,
        overlap_chars=settings.chunk_overlap_chars,
    )


async def _write(
    memory: MemoryStore,
    project_id: AccessibleProjectID,
    chunks: Sequence[Chunk],
    *,
    scope: str,
    payload: Mapping[str, Any],
) -> int:
    """Upsert the chunks; returns how many had to be embedded. A chunk whose text the project
    already holds (an unchanged section of the previous version, a paragraph the PM copied
    from a section) reuses the stored vector instead of running the model again."""
    stored = await memory_repository.stored_vectors(
        memory, project_id, [chunk.hash for chunk in chunks]
    )
    fresh = [chunk for chunk in chunks if chunk.hash not in stored]
    computed = await memory.embedder.embed([chunk.text for chunk in fresh])
    vectors = {
        **stored,
        **{chunk.hash: vector for chunk, vector in zip(fresh, computed, strict=True)},
    }
    points = [
        MemoryPoint(
            id=str(uuid.uuid5(constants.POINT_ID_NAMESPACE, f"{project_id}:{scope}:{chunk.hash}")),
            vector=vectors[chunk.hash],
            payload={
                **payload,
                constants.PROJECT_ID: str(project_id),
                constants.CHUNK_HASH: chunk.hash,
                constants.HEADING: chunk.heading,
                constants.TEXT: chunk.text,
            },
        )
        for chunk in chunks
    ]
    await memory_repository.upsert(memory, project_id, points)
    return len(fresh)


async def _language(session: AsyncSession, project_id: AccessibleProjectID) -> str | None:
    try:
        return await project_repository.project_language(session, project_id)
    except LookupError:
        raise ProjectNotFoundError from None


async def _required_language(session: AsyncSession, project_id: AccessibleProjectID) -> str:
    language = await _language(session, project_id)
    if language is None:
        raise ProjectLanguageUnknownError
    return language
