"""The trace tables, always read and written under one project."""

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.documents.tracing.models import StaleItem, TraceItem
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

_BATCH_ROWS = 1_000


async def items(session: AsyncSession, project_id: AccessibleProjectID) -> list[TraceItem]:
    result = await session.execute(select(TraceItem).where(TraceItem.project_id == project_id))
    return list(result.scalars())


async def add_items(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    version: int,
    item_ids: Sequence[str],
) -> None:
    if not item_ids:
        return
    await session.execute(
        insert(TraceItem).values(
            [
                {
                    "project_id": project_id,
                    "item_id": item_id,
                    "document_type": document_type.value,
                    "created_version": version,
                }
                for item_id in item_ids
            ]
        )
    )


async def set_retired(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    item_ids: Sequence[str],
    version: int | None,
) -> None:
    """Retire ``item_ids`` in ``version`` of their document (None: they are back)."""
    if not item_ids:
        return
    await session.execute(
        update(TraceItem)
        .where(TraceItem.project_id == project_id, TraceItem.item_id.in_(item_ids))
        .values(retired_version=version)
    )


async def stale(session: AsyncSession, project_id: AccessibleProjectID) -> list[StaleItem]:
    result = await session.execute(
        select(StaleItem).where(StaleItem.project_id == project_id).order_by(StaleItem.item_id)
    )
    return list(result.scalars())


async def mark_stale(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    marks: Iterable[tuple[str, DocumentType, list[str]]],
    cause: DocumentType,
    cause_version: int,
) -> None:
    """Mark each (item, its document, the changed ids it serves) stale; an item already stale
    names the newest cause and every changed id it serves."""
    rows = [
        {
            "project_id": project_id,
            "item_id": item_id,
            "document_type": document.value,
            "cause_document_type": cause.value,
            "cause_version": cause_version,
            "cause_items": sorted(changed),
        }
        for item_id, document, changed in marks
    ]
    # In batches: one statement's bind parameters are bounded (asyncpg: 32,767).
    for start in range(0, len(rows), _BATCH_ROWS):
        statement = insert(StaleItem).values(rows[start : start + _BATCH_ROWS])
        # The existing row's ids, then the new ones (repeats are dropped when read).
        merged = StaleItem.cause_items.op("||")(statement.excluded.cause_items)
        await session.execute(
            statement.on_conflict_do_update(
                constraint="trace_stale_item_key",
                set_={
                    "cause_document_type": statement.excluded.cause_document_type,
                    "cause_version": statement.excluded.cause_version,
                    "cause_items": merged,
                },
            )
        )


async def clear_stale(
    session: AsyncSession, project_id: AccessibleProjectID, item_ids: Iterable[str]
) -> None:
    ids = list(item_ids)
    if not ids:
        return
    await session.execute(
        delete(StaleItem).where(StaleItem.project_id == project_id, StaleItem.item_id.in_(ids))
    )
