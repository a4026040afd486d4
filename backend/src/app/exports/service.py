"""Exports as the API sees them: requested (the content fixed then), listed, read, downloaded
and deleted."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

import structlog
from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import ExportSettings, WorkerSettings
from app.core.db import after_commit
from app.documents import repository as document_repository
from app.events import schemas as events
from app.events.transaction import defer_event
from app.exports import repository as export_repository
from app.exports.exceptions import (
    ArchiveNotStoredError,
    ExportExpiredError,
    ExportNotFoundError,
    ExportNotReadyError,
)
from app.exports.formats import ExportFormat
from app.exports.jobs import enqueue_export
from app.exports.models import Export, ExportStatus
from app.exports.naming import ascii_slug, project_slug
from app.exports.schemas import ExportError, ExportRead
from app.exports.storage import ExportStorage, OpenedArchive, archive_key
from app.projects import service as project_service
from app.projects.scoping import ProjectContext
from app.projects.stages import DocumentType

logger = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _has_expired(export: Export, now: datetime) -> bool:
    # Past its expiry an archive is gone for the client, whether or not the cleanup ran yet.
    if export.status == ExportStatus.EXPIRED:
        return True
    return export.status == ExportStatus.READY and (
        export.expires_at is not None and export.expires_at <= now
    )


def _status(export: Export, now: datetime) -> ExportStatus:
    return ExportStatus.EXPIRED if _has_expired(export, now) else ExportStatus(export.status)


def _read(export: Export, now: datetime) -> ExportRead:
    # A failure always records both (see builder._fail).
    error = (
        ExportError(code=export.error_code, message=export.error_message)
        if export.error_code is not None and export.error_message is not None
        else None
    )
    return ExportRead(
        id=export.id,
        project_id=export.project_id,
        format=ExportFormat(export.format),
        status=_status(export, now),
        documents={
            document_type: export.document_versions.get(document_type.value)
            for document_type in DocumentType
        },
        created_at=export.created_at,
        ready_at=export.ready_at,
        expires_at=export.expires_at,
        archive_bytes=export.archive_bytes,
        archive_sha256=export.archive_sha256,
        error=error,
        download_path=None,
    )


async def request_export(
    session: AsyncSession,
    queue: Queue,
    settings: ExportSettings,
    worker: WorkerSettings,
    context: ProjectContext,
    export_format: ExportFormat,
) -> ExportRead:
    """Record which version of each document the archive will hold, and in which layout; the
    worker builds it once this commits. An export of exactly the same content in the same
    layout that is still on its way or still downloadable is answered instead of packing the
    same archive twice."""
    project = await project_service.load_project(session, context)
    active = await document_repository.latest_of_each(session, context.project_id)
    versions = {document.document_type: document.version for document in active}
    now = _now()
    existing = await export_repository.find_reusable(
        session,
        context.project_id,
        export_format=export_format.value,
        document_versions=versions,
        project_name=project.name,
        language=project.language,
        now=now,
    )
    if existing is not None:
        return _read(existing, now)
    export = Export(
        project_id=context.project_id,
        requested_by=context.user_id,
        format=export_format.value,
        document_versions=versions,
        project_name=project.name,
        language=project.language,
    )
    await export_repository.add(session, context.project_id, export)
    defer_event(
        session,
        events.ExportProgress(
            project_id=context.project_id, export_id=export.id, percent=0, step="queued"
        ),
    )
    after_commit(
        session, partial(enqueue_export, queue, settings, worker, context.project_id, export.id)
    )
    return _read(export, now)


async def list_exports(
    session: AsyncSession, context: ProjectContext, *, limit: int
) -> list[ExportRead]:
    now = _now()
    exports = await export_repository.list_recent(session, context.project_id, limit=limit)
    return [_read(export, now) for export in exports]


async def _get(session: AsyncSession, context: ProjectContext, export_id: UUID) -> Export:
    export = await export_repository.get(session, context.project_id, export_id)
    if export is None:
        raise ExportNotFoundError
    return export


async def get_export(session: AsyncSession, context: ProjectContext, export_id: UUID) -> ExportRead:
    return _read(await _get(session, context, export_id), _now())


async def delete_export(
    session: AsyncSession, storage: ExportStorage, context: ProjectContext, export_id: UUID
) -> None:
    """Remove the archive before its expiry; a build still running finds its export gone and
    removes what it stored."""
    if not await export_repository.delete_export(session, context.project_id, export_id):
        raise ExportNotFoundError
    key = archive_key(context.project_id, export_id)

    async def remove_archive() -> None:
        await storage.delete(key)

    after_commit(session, remove_archive)


@dataclass(frozen=True, slots=True)
class ArchiveDownload:
    archive: OpenedArchive
    sha256: str
    file_name: str
    ascii_file_name: str


async def open_download(
    session: AsyncSession, storage: ExportStorage, context: ProjectContext, export_id: UUID
) -> ArchiveDownload:
    """The archive opened for reading: once this returns, a cleanup or a delete can no longer
    cut the download short."""
    export = await _get(session, context, export_id)
    if _has_expired(export, _now()):
        raise ExportExpiredError
    if (
        export.status != ExportStatus.READY
        or export.generated_at is None
        or export.archive_sha256 is None
    ):
        raise ExportNotReadyError(
            f"The archive is {export.status}; download it once the export is ready.",
            details={"status": export.status},
        )
    key = archive_key(export.project_id, export.id)
    try:
        archive = await storage.open(key)
    except ArchiveNotStoredError:
        logger.error("export_archive_missing", project_id=str(export.project_id), key=key)
        raise ExportExpiredError from None
    day = export.generated_at.date().isoformat()
    return ArchiveDownload(
        archive=archive,
        sha256=export.archive_sha256,
        file_name=f"{project_slug(export.project_name, export.project_id)}-{day}.zip",
        ascii_file_name=f"{ascii_slug(export.project_name, export.project_id)}-{day}.zip",
    )
