"""Versioned documents: linear, immutable versions; the latest is the active one."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis
from saq import Queue
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.redis import project_key
from app.documents import render_lane
from app.documents import repository as document_repository
from app.documents.diffing import DocumentDiff, diff_documents
from app.documents.exceptions import (
    DocumentNotFoundError,
    VersionConflictError,
    VersionNotFoundError,
)
from app.documents.models import DocumentVersion
from app.documents.quality import QualityReport, assess_quality
from app.documents.rendering import render_preview
from app.documents.resources import PersonVersionHook
from app.documents.schemas import DocumentStatus, DocumentVersionRead, VersionSummary
from app.documents.tracing import service as trace_service
from app.documents.tracing.items import Author
from app.events.schemas import DocumentVersionCreated
from app.events.transaction import defer_event
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import STAGE_ORDER, DocumentType

# Part of each cache key: HTML an older renderer wrote (external images, unprefixed ids) is
# never served after an upgrade.
RENDERER_VERSION = "cmark1"
# Versions never change, so a rendered preview (or quality report) stays valid for as long as
# we keep it.
_PREVIEW_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class WrittenVersion:
    version: DocumentVersionRead
    stale: tuple[str, ...]
    """Items of later documents this version made stale."""


async def append_version(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    *,
    expected_version: int,
    content: str,
    reason: str,
    author_user_id: UUID | None = None,
    author_agent: str | None = None,
    source_message_ids: Sequence[UUID] = (),
    rollback: bool = False,
    answers: Sequence[str] = (),
) -> WrittenVersion:
    """Add the next version on top of ``expected_version`` (0: the document's first).

    Two writers starting from the same version cannot both succeed: the unique constraint on
    (project, type, version) lets exactly one insert win, and the other gets a conflict. The
    version's traceable items get their ids (written into its content) and its links are
    checked; ``answers``: the stale items it was written to bring in line (an update, see
    :mod:`.tracing.service`).
    """
    current = await document_repository.latest(session, project_id, document_type)
    current_number = current.version if current is not None else 0
    if expected_version != current_number:
        raise VersionConflictError(
            f"The {document_type} document is at version {current_number}, "
            f"not {expected_version}; reload it and apply your change again.",
            details={"current_version": current_number},
        )
    author = Author.ROLLBACK if rollback else Author.AGENT if author_agent else Author.PERSON
    traced = await trace_service.prepare(
        session, project_id, document_type, content, current, author
    )
    version = DocumentVersion(
        project_id=project_id,
        document_type=document_type,
        version=current_number + 1,
        content=traced.content,
        trace_items=trace_service.serialised(traced.nodes),
        reason=reason,
        author_user_id=author_user_id,
        author_agent=author_agent,
        source_message_ids=list(source_message_ids),
        parent_version=current_number or None,
    )
    try:
        async with session.begin_nested():
            await document_repository.add(session, project_id, version)
    except IntegrityError as error:
        raise VersionConflictError(
            f"Another change to the {document_type} document was saved first; reload it.",
            details={"current_version": current_number + 1},
        ) from error
    stale = await trace_service.record(
        session, project_id, document_type, version.version, traced, answers=answers
    )
    # Every new version, whoever wrote it (an agent, a manual edit, a rollback), is announced.
    defer_event(
        session,
        DocumentVersionCreated(
            project_id=project_id,
            document_type=document_type.value,
            version=version.version,
            author_agent=author_agent,
            author_user_id=author_user_id,
            reason=reason,
        ),
    )
    return WrittenVersion(DocumentVersionRead.model_validate(version), tuple(stale))


async def active(
    session: AsyncSession, project_id: AccessibleProjectID, document_type: DocumentType
) -> DocumentVersionRead:
    current = await document_repository.read_latest(session, project_id, document_type)
    if current is None:
        raise DocumentNotFoundError(f"The {document_type} document has not been written yet.")
    return DocumentVersionRead.model_validate(current)


async def version(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    number: int,
) -> DocumentVersionRead:
    found = await document_repository.get_version(session, project_id, document_type, number)
    if found is None:
        raise VersionNotFoundError(f"The {document_type} document has no version {number}.")
    return DocumentVersionRead.model_validate(found)


async def versions(
    session: AsyncSession, project_id: AccessibleProjectID, document_type: DocumentType
) -> list[VersionSummary]:
    rows = await document_repository.list_versions(session, project_id, document_type)
    return [VersionSummary.model_validate(row) for row in rows]


async def statuses(session: AsyncSession, project_id: AccessibleProjectID) -> list[DocumentStatus]:
    latest = {
        row.document_type: row
        for row in await document_repository.latest_of_each(session, project_id)
    }
    return [
        DocumentStatus(
            document_type=document_type,
            active_version=latest[document_type].version if document_type in latest else None,
            updated_at=latest[document_type].created_at if document_type in latest else None,
        )
        for document_type in STAGE_ORDER
    ]


async def edit(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    *,
    expected_version: int,
    content: str,
    reason: str,
    user_id: UUID,
    after_person_version: PersonVersionHook,
    queue: Queue,
) -> DocumentVersionRead:
    await active(session, project_id, document_type)
    written = await append_version(
        session,
        project_id,
        document_type,
        expected_version=expected_version,
        content=content,
        reason=reason,
        author_user_id=user_id,
    )
    await after_person_version(
        session, queue, project_id, document_type, written.version.version, written.stale
    )
    return written.version


async def rollback(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    *,
    to_version: int,
    expected_version: int | None,
    reason: str | None,
    user_id: UUID,
    after_person_version: PersonVersionHook,
    queue: Queue,
) -> DocumentVersionRead:
    """A new version with an earlier version's content: history stays linear."""
    current = await active(session, project_id, document_type)
    target = await version(session, project_id, document_type, to_version)
    note = f"rollback to version {to_version}" + (f": {reason}" if reason else "")
    written = await append_version(
        session,
        project_id,
        document_type,
        expected_version=current.version if expected_version is None else expected_version,
        content=target.content,
        reason=note,
        author_user_id=user_id,
        rollback=True,
    )
    await after_person_version(
        session, queue, project_id, document_type, written.version.version, written.stale
    )
    return written.version


async def diff(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    *,
    from_version: int,
    to_version: int,
) -> DocumentDiff:
    old = await version(session, project_id, document_type, from_version)
    new = await version(session, project_id, document_type, to_version)
    return await asyncio.to_thread(
        diff_documents,
        old.content,
        new.content,
        from_label=f"{document_type} v{from_version}",
        to_label=f"{document_type} v{to_version}",
    )


async def preview(
    session: AsyncSession,
    redis: "Redis",
    project_id: AccessibleProjectID,
    user_id: UUID,
    document_type: DocumentType,
    number: int | None,
) -> str:
    document = await _chosen(session, project_id, document_type, number)
    return await _preview_of(redis, project_id, user_id, document)


async def _preview_of(
    redis: "Redis", project_id: AccessibleProjectID, user_id: UUID, document: DocumentVersionRead
) -> str:
    key = project_key(
        project_id,
        "doc",
        document.document_type,
        f"v{document.version}",
        "preview",
        RENDERER_VERSION,
    )
    cached = await redis.get(key)
    if isinstance(cached, bytes):
        return cached.decode()
    html = await render_lane.render(project_id, user_id, render_preview, document.content)
    await redis.set(key, html.encode(), ex=_PREVIEW_TTL_SECONDS)
    return html


async def quality(
    session: AsyncSession,
    redis: "Redis",
    project_id: AccessibleProjectID,
    user_id: UUID,
    document_type: DocumentType,
    number: int | None,
    language: str | None,
) -> QualityReport:
    document = await _chosen(session, project_id, document_type, number)
    key = project_key(
        project_id,
        "doc",
        document_type,
        f"v{document.version}",
        "quality",
        RENDERER_VERSION,
        f"language={language}",
    )
    cached = await redis.get(key)
    if isinstance(cached, bytes):
        return QualityReport.model_validate_json(cached)
    # The quality report reads the preview's prose: a preview already rendered (and cached)
    # is reused, and one rendered here is cached for the preview route.
    html = await _preview_of(redis, project_id, user_id, document)
    report = await render_lane.render(
        project_id,
        user_id,
        assess_quality,
        document.content,
        preview_html=html,
        document_type=document_type,
        language=language,
    )
    await redis.set(key, report.model_dump_json().encode(), ex=_PREVIEW_TTL_SECONDS)
    return report


async def _chosen(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    number: int | None,
) -> DocumentVersionRead:
    if number is None:
        return await active(session, project_id, document_type)
    return await version(session, project_id, document_type, number)
