"""Exports as the worker sees them: built, stored, verified, marked ready; later expired.

The archive holds the versions recorded at request time, whatever happened to the documents
since.
"""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.resources import Resources
from app.documents import repository as document_repository
from app.documents.constants import DocumentType
from app.events import schemas as events
from app.events.transaction import defer_event, unit_of_work
from app.exports import repository as export_repository
from app.exports.archive import (
    ArchivedDocument,
    ArchiveRequest,
    BuiltArchive,
    build_archive,
    verify_archive,
)
from app.exports.exceptions import ArchiveIntegrityError
from app.exports.models import Export, ExportStatus
from app.exports.storage import archive_key, read_all
from app.projects.repository import AccessibleProjectID

logger = structlog.get_logger(__name__)

_CLEANUP_BATCH = 500


def _now() -> datetime:
    return datetime.now(UTC)


async def _progress(
    resources: Resources, project_id: UUID, export_id: UUID, percent: int, step: str
) -> None:
    # Progress describes no database change, so it is published at once.
    await resources.events.publish(
        events.ExportProgress(
            project_id=project_id, export_id=export_id, percent=percent, step=step
        )
    )


async def _archive_request(
    session: AsyncSession, project_id: AccessibleProjectID, export: Export, generated_at: datetime
) -> ArchiveRequest:
    documents = {}
    for type_name, number in export.document_versions.items():
        document_type = DocumentType(type_name)
        version = await document_repository.get_version(session, project_id, document_type, number)
        if version is None:
            raise ArchiveIntegrityError(f"{type_name} version {number} is no longer stored")
        documents[document_type] = ArchivedDocument(version=number, content=version.content)
    return ArchiveRequest(
        export_id=export.id,
        project_id=export.project_id,
        project_name=export.project_name,
        language=export.language,
        requested_at=export.created_at,
        generated_at=generated_at,
        documents=documents,
    )


async def _pack_and_store(resources: Resources, request: ArchiveRequest, key: str) -> BuiltArchive:
    storage = resources.export_storage
    built = await anyio.to_thread.run_sync(build_archive, request)
    await _progress(resources, request.project_id, request.export_id, 40, "writing")
    await storage.put(key, built.data)
    await _progress(resources, request.project_id, request.export_id, 70, "verifying")
    # Read back from the storage, not from memory: this checks what will be downloaded.
    stored = await read_all(storage, key)
    await anyio.to_thread.run_sync(verify_archive, stored, built.manifest)
    return built


async def build_export(
    resources: Resources, project_id: AccessibleProjectID, export_id: UUID
) -> None:
    """Build, store and verify one archive, then mark it ready. A failure that another attempt
    cannot mend (or the last attempt) marks it failed, visibly; others are retried by the
    queue."""
    async with unit_of_work(resources) as session:
        export = await export_repository.claim(session, project_id, export_id)
        if export is None:
            return
        attempt = export.attempts
        request = await _archive_request(session, project_id, export, generated_at=_now())
    await _progress(resources, project_id, export_id, 10, "collecting")
    key = archive_key(project_id, export_id)
    try:
        built = await _pack_and_store(resources, request, key)
    except ArchiveIntegrityError as error:
        logger.error("export_integrity_failed", export_id=str(export_id), reason=str(error))
        await _fail(resources, project_id, export_id, "archive_integrity", str(error))
        return
    except Exception:
        if attempt < resources.settings.export_max_attempts:
            raise
        logger.exception("export_failed", export_id=str(export_id), attempts=attempt)
        await _fail(
            resources,
            project_id,
            export_id,
            "export_failed",
            f"The archive could not be built after {attempt} attempts.",
        )
        return
    await _mark_ready(resources, project_id, export_id, built)


async def _mark_ready(
    resources: Resources,
    project_id: AccessibleProjectID,
    export_id: UUID,
    built: BuiltArchive,
) -> None:
    ready_at = _now()
    expires_at = ready_at + timedelta(seconds=resources.settings.export_ttl_seconds)
    async with unit_of_work(resources) as session:
        marked = await export_repository.finish(
            session,
            project_id,
            export_id,
            ExportStatus.READY,
            ready_at=ready_at,
            expires_at=expires_at,
            archive_bytes=len(built.data),
            archive_sha256=built.sha256,
        )
        if marked:
            defer_event(
                session,
                events.ExportReady(
                    project_id=project_id, export_id=export_id, expires_at=expires_at
                ),
            )
    if not marked:
        # The project was deleted (or the export expired) while the archive was being built.
        await resources.export_storage.delete(archive_key(project_id, export_id))


async def _fail(
    resources: Resources,
    project_id: AccessibleProjectID,
    export_id: UUID,
    code: str,
    message: str,
) -> None:
    await resources.export_storage.delete(archive_key(project_id, export_id))
    async with unit_of_work(resources) as session:
        marked = await export_repository.finish(
            session,
            project_id,
            export_id,
            ExportStatus.FAILED,
            error_code=code,
            error_message=message[:1000],
        )
        if marked:
            defer_event(
                session,
                events.ExportFailed(
                    project_id=project_id,
                    export_id=export_id,
                    error=events.ErrorInfo(code=code, message=message),
                ),
            )


async def cleanup_expired(resources: Resources, *, now: datetime | None = None) -> int:
    """Remove archives past their expiry and give up on exports that never became ready
    within one expiry period; returns how many exports it expired."""
    moment = now if now is not None else _now()
    abandoned_before = moment - timedelta(seconds=resources.settings.export_ttl_seconds)
    expired = 0
    while True:
        batch = await _expire_batch(resources, moment, abandoned_before)
        expired += batch
        if batch < _CLEANUP_BATCH:
            break
    if expired:
        logger.info("exports_expired", count=expired)
    return expired


async def _expire_batch(resources: Resources, now: datetime, abandoned_before: datetime) -> int:
    async with unit_of_work(resources) as session:
        due = await export_repository.due_for_cleanup(
            session, now=now, abandoned_before=abandoned_before, limit=_CLEANUP_BATCH
        )
        for export in due:
            # The file first: if the commit then fails, the next run finds the row again.
            await resources.export_storage.delete(archive_key(export.project_id, export.id))
            export.status = ExportStatus.EXPIRED
    return len(due)
