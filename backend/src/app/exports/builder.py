"""Exports as the worker sees them: built, stored, verified, marked ready; later expired.

The archive holds the versions recorded at request time, whatever happened to the documents
since, and carries the time of the first attempt: every attempt packs the same bytes, so two
attempts that overlap (a job taken over from a worker thought dead) store the same archive.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import anyio
import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import ExportSettings, WorkerSettings
from app.core.db import unit_of_work
from app.documents import repository as document_repository
from app.events import schemas as events
from app.events.transaction import defer_event
from app.exports import repository as export_repository
from app.exports.archive import (
    ArchivedDocument,
    ArchiveRequest,
    BuiltArchive,
    build_archive,
    verify_archive,
)
from app.exports.exceptions import ArchiveIntegrityError
from app.exports.formats import ExportFormat
from app.exports.models import Export, ExportStatus
from app.exports.resources import ExportResources
from app.exports.storage import archive_key, read_all
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

logger = structlog.get_logger(__name__)

_SWEEP_BATCH = 500
GAVE_UP_MESSAGE = "The archive could not be built; request a new export."


def _now() -> datetime:
    return datetime.now(UTC)


async def _progress(
    resources: ExportResources, project_id: UUID, export_id: UUID, percent: int, step: str
) -> None:
    # Progress describes no database change, so it is published at once; like every event it
    # is delivered at most once, and a lost one must not cost the build.
    try:
        await resources.events.publish(
            events.ExportProgress(
                project_id=project_id, export_id=export_id, percent=percent, step=step
            )
        )
    except RedisError:
        logger.warning("export_progress_not_published", export_id=str(export_id), step=step)


async def _archive_request(
    session: AsyncSession, project_id: AccessibleProjectID, export: Export
) -> ArchiveRequest:
    documents = {}
    for type_name, number in export.document_versions.items():
        document_type = DocumentType(type_name)
        version = await document_repository.get_version(session, project_id, document_type, number)
        if version is None:
            raise ArchiveIntegrityError(f"{type_name} version {number} is no longer stored")
        documents[document_type] = ArchivedDocument(version=number, content=version.content)
    if export.generated_at is None:
        raise ArchiveIntegrityError("the export was not claimed before it was built")
    return ArchiveRequest(
        export_id=export.id,
        project_id=export.project_id,
        project_name=export.project_name,
        language=export.language,
        requested_at=export.created_at,
        generated_at=export.generated_at,
        documents=documents,
        export_format=ExportFormat(export.format),
    )


async def build_export(
    resources: ExportResources,
    project_id: AccessibleProjectID,
    export_id: UUID,
    *,
    last_attempt: bool,
) -> None:
    """Build, store and verify one archive, then mark it ready.

    A failure that another attempt cannot mend, or any failure of the last attempt (a timeout
    included), marks the export failed with an ``export.failed`` event; other failures go back
    to the queue for another attempt.
    """
    try:
        await _build(resources, project_id, export_id)
    except ArchiveIntegrityError as error:
        logger.error("export_integrity_failed", export_id=str(export_id), reason=str(error))
        await _fail(resources, project_id, export_id, "archive_integrity", str(error))
    except Exception:
        if not last_attempt:
            raise
        logger.exception("export_failed", export_id=str(export_id))
        await _fail(resources, project_id, export_id, "export_failed", GAVE_UP_MESSAGE)
    except asyncio.CancelledError:
        # saq cancels a job that ran out of time; on the last attempt nobody else will say so.
        if last_attempt:
            logger.error("export_cancelled", export_id=str(export_id))
            await asyncio.shield(
                _fail(resources, project_id, export_id, "export_failed", GAVE_UP_MESSAGE)
            )
        raise


async def _build(
    resources: ExportResources, project_id: AccessibleProjectID, export_id: UUID
) -> None:
    async with unit_of_work(resources) as session:
        export = await export_repository.claim(session, project_id, export_id)
        if export is None:
            return
        request = await _archive_request(session, project_id, export)
    await _progress(resources, project_id, export_id, 10, "collecting")
    key = archive_key(project_id, export_id)
    built = await _pack_and_store(resources, request, key)
    await _mark_ready(resources, project_id, export_id, built)


async def _pack_and_store(
    resources: ExportResources, request: ArchiveRequest, key: str
) -> BuiltArchive:
    storage = resources.export_storage
    built = await anyio.to_thread.run_sync(build_archive, request)
    await _progress(resources, request.project_id, request.export_id, 40, "writing")
    await storage.put(key, built.data)
    await _progress(resources, request.project_id, request.export_id, 70, "verifying")
    # Read back from the storage, not from memory: this checks what will be downloaded.
    stored = await read_all(storage, key)
    await anyio.to_thread.run_sync(verify_archive, stored, built.manifest)
    return built


async def _mark_ready(
    resources: ExportResources,
    project_id: AccessibleProjectID,
    export_id: UUID,
    built: BuiltArchive,
) -> None:
    ready_at = _now()
    expires_at = ready_at + timedelta(seconds=resources.settings.exports.ttl_seconds)
    async with unit_of_work(resources) as session:
        marked = await export_repository.mark_ready(
            session,
            project_id,
            export_id,
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
    if not marked and not await _made_ready_elsewhere(resources, project_id, export_id):
        # Deleted (with its project, or by a user) or given up while it was being built.
        await resources.export_storage.delete(archive_key(project_id, export_id))


async def _made_ready_elsewhere(
    resources: ExportResources, project_id: AccessibleProjectID, export_id: UUID
) -> bool:
    """Another attempt finished first: it stored these same bytes, which must stay."""
    async with resources.session_factory() as session:
        export = await export_repository.get(session, project_id, export_id)
    return export is not None and export.status == ExportStatus.READY


async def _fail(
    resources: ExportResources, project_id: UUID, export_id: UUID, code: str, message: str
) -> None:
    async with unit_of_work(resources) as session:
        marked = await export_repository.mark_failed(
            session, AccessibleProjectID(project_id), export_id, code=code, message=message
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
    # Only the attempt that failed the export removes its file: another attempt may have
    # made it ready meanwhile, and its archive must stay.
    if marked:
        await resources.export_storage.delete(archive_key(project_id, export_id))


async def cleanup(resources: ExportResources, now: datetime) -> int:
    """The scheduled sweep: expire ready archives past their expiry, fail exports whose every
    attempt must have ended long ago, and remove stored archives no ready export points to.
    Returns how many exports changed."""
    changed = await _expire_ready(resources, now) + await _give_up_abandoned(resources, now)
    removed = await _remove_strays(resources, now)
    if changed or removed:
        logger.info("exports_cleaned", exports=changed, stray_archives=removed)
    return changed


def longest_build(settings: ExportSettings, worker: WorkerSettings) -> timedelta:
    """How long after its request an export's last attempt must have ended."""
    return timedelta(seconds=worker.job_timeout_seconds * settings.max_attempts)


async def _expire_ready(resources: ExportResources, now: datetime) -> int:
    expired = 0
    while True:
        async with unit_of_work(resources) as session:
            due = await export_repository.expired_ready(session, now=now, limit=_SWEEP_BATCH)
            for export in due:
                # The file first: if the commit then fails, the next run finds the row again.
                await resources.export_storage.delete(archive_key(export.project_id, export.id))
                export.status = ExportStatus.EXPIRED
        expired += len(due)
        if len(due) < _SWEEP_BATCH:
            return expired


async def _give_up_abandoned(resources: ExportResources, now: datetime) -> int:
    async with resources.session_factory() as session:
        waiting = await export_repository.abandoned(
            session,
            created_before=now
            - longest_build(resources.settings.exports, resources.settings.worker),
            limit=_SWEEP_BATCH,
        )
        stuck = [(export.project_id, export.id) for export in waiting]
    for project_id, export_id in stuck:
        await _fail(resources, project_id, export_id, "export_timed_out", GAVE_UP_MESSAGE)
    return len(stuck)


async def _remove_strays(resources: ExportResources, now: datetime) -> int:
    """Archives left behind by a worker that died between storing and marking, or by a build
    that finished after its project was deleted. Young ones may be builds in progress."""
    settled_before = now - longest_build(resources.settings.exports, resources.settings.worker)
    stored = [
        item
        for item in await resources.export_storage.stored()
        if item.modified_at < settled_before
    ]
    async with resources.session_factory() as session:
        kept = await export_repository.ready_among(session, [item.export_id for item in stored])
    strays = [item for item in stored if item.export_id not in kept]
    for item in strays:
        await resources.export_storage.delete(item.key)
    return len(strays)
