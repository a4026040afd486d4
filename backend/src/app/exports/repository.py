from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.exports.models import Export, ExportStatus
from app.projects.scoping import AccessibleProjectID

UNFINISHED = (ExportStatus.QUEUED, ExportStatus.BUILDING)


async def add(session: AsyncSession, project_id: AccessibleProjectID, export: Export) -> None:
    if export.project_id != project_id:
        raise ValueError("an export must be added under its own project")
    session.add(export)
    await session.flush()
    await session.refresh(export)


async def get(
    session: AsyncSession, project_id: AccessibleProjectID, export_id: UUID
) -> Export | None:
    result = await session.execute(
        select(Export).where(Export.project_id == project_id, Export.id == export_id)
    )
    return result.scalar_one_or_none()


async def list_recent(
    session: AsyncSession, project_id: AccessibleProjectID, *, limit: int
) -> list[Export]:
    result = await session.execute(
        select(Export)
        .where(Export.project_id == project_id)
        .order_by(Export.created_at.desc(), Export.id.desc())
        .limit(limit)
    )
    return list(result.scalars())


async def find_reusable(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    *,
    export_format: str,
    document_versions: dict[str, int],
    project_name: str,
    language: str | None,
    now: datetime,
) -> Export | None:
    """An export of exactly this content, in this layout, that is on its way or still
    downloadable."""
    result = await session.execute(
        select(Export)
        .where(
            Export.project_id == project_id,
            Export.format == export_format,
            Export.document_versions == document_versions,
            Export.project_name == project_name,
            Export.language.is_not_distinct_from(language),
            Export.status.in_(UNFINISHED)
            | ((Export.status == ExportStatus.READY) & (Export.expires_at > now)),
        )
        .order_by(Export.created_at.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def claim(
    session: AsyncSession, project_id: AccessibleProjectID, export_id: UUID
) -> Export | None:
    """Mark an unfinished export as building and count the attempt; None when it is finished
    already (or gone with its project), so a repeated job does nothing."""
    result = await session.execute(
        update(Export)
        .where(
            Export.project_id == project_id,
            Export.id == export_id,
            Export.status.in_(UNFINISHED),
        )
        .values(
            status=ExportStatus.BUILDING,
            attempts=Export.attempts + 1,
            generated_at=func.coalesce(Export.generated_at, func.now()),
        )
        .returning(Export)
    )
    return result.scalar_one_or_none()


async def mark_ready(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    export_id: UUID,
    *,
    ready_at: datetime,
    expires_at: datetime,
    archive_bytes: int,
    archive_sha256: str,
) -> bool:
    """False when the export is no longer building (deleted, or given up meanwhile)."""
    return await _finish(
        session,
        project_id,
        export_id,
        status=ExportStatus.READY,
        ready_at=ready_at,
        expires_at=expires_at,
        archive_bytes=archive_bytes,
        archive_sha256=archive_sha256,
    )


async def mark_failed(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    export_id: UUID,
    *,
    code: str,
    message: str,
) -> bool:
    """False when the export is no longer unfinished (ready, deleted or failed already)."""
    return await _finish(
        session,
        project_id,
        export_id,
        status=ExportStatus.FAILED,
        error_code=code,
        error_message=message[:1000],
    )


async def _finish(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    export_id: UUID,
    **values: object,
) -> bool:
    result = await session.execute(
        update(Export)
        .where(
            Export.project_id == project_id,
            Export.id == export_id,
            Export.status.in_(UNFINISHED),
        )
        .values(**values)
        .returning(Export.id)
    )
    return result.scalar_one_or_none() is not None


async def delete_export(
    session: AsyncSession, project_id: AccessibleProjectID, export_id: UUID
) -> bool:
    result = await session.execute(
        delete(Export)
        .where(Export.project_id == project_id, Export.id == export_id)
        .returning(Export.id)
    )
    return result.scalar_one_or_none() is not None


# --- the worker's sweeps: across projects on purpose (a scheduled job has no project) --------


async def expired_ready(session: AsyncSession, *, now: datetime, limit: int) -> list[Export]:
    result = await session.execute(
        select(Export)
        .where(Export.status == ExportStatus.READY, Export.expires_at <= now)
        .order_by(Export.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


async def abandoned(session: AsyncSession, *, created_before: datetime, limit: int) -> list[Export]:
    """Exports still unfinished long after every attempt should have ended."""
    result = await session.execute(
        select(Export)
        .where(Export.status.in_(UNFINISHED), Export.created_at <= created_before)
        .order_by(Export.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


async def ready_among(session: AsyncSession, export_ids: list[UUID]) -> set[UUID]:
    """Which of these exports are ready, i.e. have an archive that must be kept."""
    if not export_ids:
        return set()
    result = await session.execute(
        select(Export.id).where(Export.id.in_(export_ids), Export.status == ExportStatus.READY)
    )
    return set(result.scalars())


async def unfinished(session: AsyncSession, *, created_after: datetime) -> list[tuple[UUID, UUID]]:
    """(project id, export id) of exports still waiting for a worker: a restarted worker
    queues them again."""
    result = await session.execute(
        select(Export.project_id, Export.id)
        .where(Export.status.in_(UNFINISHED), Export.created_at > created_after)
        .order_by(Export.created_at)
    )
    return [(project_id, export_id) for project_id, export_id in result.tuples()]
