from datetime import datetime
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.exports.models import Export, ExportStatus
from app.projects.repository import AccessibleProjectID

_UNFINISHED = (ExportStatus.QUEUED, ExportStatus.BUILDING)


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
            Export.status.in_(_UNFINISHED),
        )
        .values(status=ExportStatus.BUILDING, attempts=Export.attempts + 1)
        .returning(Export)
    )
    return result.scalar_one_or_none()


async def finish(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    export_id: UUID,
    status: ExportStatus,
    **values: object,
) -> bool:
    """Move a building export to ``status``; False when it is no longer building."""
    result = await session.execute(
        update(Export)
        .where(
            Export.project_id == project_id,
            Export.id == export_id,
            Export.status == ExportStatus.BUILDING,
        )
        .values(status=status, **values)
        .returning(Export.id)
    )
    return result.scalar_one_or_none() is not None


async def due_for_cleanup(
    session: AsyncSession, *, now: datetime, abandoned_before: datetime, limit: int
) -> list[Export]:
    """Across projects on purpose (the cleanup job has no project): ready archives past their
    expiry, and exports that never became ready within an expiry period."""
    result = await session.execute(
        select(Export)
        .where(
            or_(
                (Export.status == ExportStatus.READY) & (Export.expires_at <= now),
                Export.status.in_((*_UNFINISHED, ExportStatus.FAILED))
                & (Export.created_at <= abandoned_before),
            )
        )
        .order_by(Export.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


async def unfinished(session: AsyncSession, *, created_after: datetime) -> list[tuple[UUID, UUID]]:
    """(project id, export id) of exports still waiting for a worker, across projects: a
    restarted worker queues them again."""
    result = await session.execute(
        select(Export.project_id, Export.id)
        .where(Export.status.in_(_UNFINISHED), Export.created_at > created_after)
        .order_by(Export.created_at)
    )
    return [(project_id, export_id) for project_id, export_id in result.tuples()]
