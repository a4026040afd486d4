"""Traceability of a project's documents: ids and links checked when a version is written,
stale marks where a change reaches, and the graph with its gaps.

Every version goes through :func:`prepare` (before it is inserted: the ids are written into its
content) and :func:`record` (after: the ids given out, retired or restored, and the stale
marks), in the transaction that writes it, whoever wrote it.
"""

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.documents import repository as document_repository
from app.documents.models import DocumentVersion
from app.documents.tracing import repository as trace_repository
from app.documents.tracing.exceptions import TraceLinkError
from app.documents.tracing.graph import gaps_of, links_of, reached_by
from app.documents.tracing.items import Assignment, Author, Known, Node, assign, id_order
from app.documents.tracing.models import StaleItem
from app.documents.tracing.schemas import (
    StaleRead,
    TraceGapRead,
    TraceLinkRead,
    TraceNodeRead,
    TraceRead,
)
from app.events.schemas import TraceStale
from app.events.transaction import defer_event
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import STAGE_ORDER, DocumentType

# What a prompt quotes of each changed item: enough to say what changed, bounded.
_CHANGE_CHARS = 500


def nodes_of(version: DocumentVersion | None) -> list[Node]:
    if version is None:
        return []
    return [
        Node(str(item["id"]), str(item["section"]), str(item["text"]), tuple(links))
        for item in version.trace_items
        if isinstance(links := item.get("links"), list)
    ]


def serialised(nodes: Sequence[Node]) -> list[dict[str, Any]]:
    return [
        {"id": node.id, "section": node.section, "text": node.text, "links": list(node.links)}
        for node in nodes
    ]


async def prepare(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    content: str,
    previous: DocumentVersion | None,
    author: Author,
) -> Assignment:
    """The new version's items with their ids; a person's new link to nothing is refused."""
    known = {
        row.item_id: Known(DocumentType(row.document_type), row.retired_version is not None)
        for row in await trace_repository.items(session, project_id)
    }
    # Linear in the document's size, but a 500,000-character edit is still worth a thread.
    assignment = await asyncio.to_thread(
        assign,
        content,
        document_type,
        previous=nodes_of(previous),
        known=known,
        author=author,
    )
    if assignment.refused_links:
        described = "; ".join(bad.describe() for bad in assignment.refused_links[:10])
        raise TraceLinkError(
            f"Some links point at items that cannot be served: {described}.",
            details={
                "links": [
                    {"item": bad.item, "target": bad.target, "reason": bad.reason}
                    for bad in assignment.refused_links
                ]
            },
        )
    return assignment


async def record(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    version: int,
    assignment: Assignment,
    *,
    answers: Collection[str] = (),
) -> list[str]:
    """Bookkeeping for ``version`` once inserted; returns the later items it made stale.

    The document's own stale marks go where the version answered them: the item changed or
    left, or the version was written to bring it in line (``answers``: an update's items)."""
    await trace_repository.add_items(
        session, project_id, document_type, version, assignment.created
    )
    await trace_repository.set_retired(session, project_id, assignment.retired, version)
    await trace_repository.set_retired(session, project_id, assignment.restored, None)
    present = {node.id for node in assignment.nodes}
    answered = set(assignment.changed)
    own = [
        row.item_id
        for row in await trace_repository.stale(session, project_id)
        if row.document_type == document_type.value
        and (row.item_id in answers or row.item_id in answered or row.item_id not in present)
    ]
    await trace_repository.clear_stale(session, project_id, own)
    if not assignment.changed:
        return []
    later = await _active_nodes(session, project_id)
    reached = reached_by(later, document_type, assignment.changed)
    if not reached:
        return []
    where = {node.id: document for document, nodes in later.items() for node in nodes}
    await trace_repository.mark_stale(
        session,
        project_id,
        [(item, where[item], sorted(changed)) for item, changed in reached.items()],
        document_type,
        version,
    )
    stale = sorted(reached, key=id_order)
    defer_event(
        session,
        TraceStale(
            project_id=project_id,
            document_type=document_type.value,
            version=version,
            changed=sorted(assignment.changed, key=id_order),
            stale=stale,
        ),
    )
    return stale


async def trace(session: AsyncSession, project_id: AccessibleProjectID) -> TraceRead:
    latest = {
        DocumentType(row.document_type): row
        for row in await document_repository.latest_of_each(session, project_id)
    }
    documents = {document: nodes_of(row) for document, row in latest.items()}
    stale = [_stale_read(row) for row in await trace_repository.stale(session, project_id)]
    stale_ids = {mark.item for mark in stale}
    active = {node.id for nodes in documents.values() for node in nodes}
    retired = sorted(
        (
            row.item_id
            for row in await trace_repository.items(session, project_id)
            if row.retired_version is not None
        ),
        key=id_order,
    )
    return TraceRead(
        nodes=[
            TraceNodeRead(
                id=node.id,
                kind=node.kind,
                document_type=document,
                version=latest[document].version,
                section=node.section,
                text=node.text,
                links=list(node.links),
                stale=node.id in stale_ids,
            )
            for document in STAGE_ORDER
            for node in documents.get(document, ())
        ],
        links=[
            TraceLinkRead(source=link.source, target=link.target, retired=link.retired)
            for link in links_of(documents, active)
        ],
        gaps=[
            TraceGapRead(kind=gap.kind, item=gap.item, target=gap.target)
            for gap in gaps_of(documents)
        ],
        stale=stale,
        retired=retired,
    )


@dataclass(frozen=True, slots=True)
class StaleSection:
    """One section of a document whose items serve something that changed."""

    section: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Propagation:
    """What a document must catch up with: its stale items by section, and the changes."""

    document_type: DocumentType
    version: int
    sections: tuple[StaleSection, ...]
    changes: Mapping[str, str | None]
    """Each changed item its stale items serve: its text now, or None once retired."""
    causes: tuple[str, ...]
    """Where the changes come from, e.g. ``specs v5``."""

    def reason(self) -> str:
        changed = ", ".join(
            f"{item} {'retired' if text is None else 'changed'}"
            for item, text in self.changes.items()
        )
        return f"propagated from {', '.join(self.causes)}: {changed}"


async def next_propagation(
    session: AsyncSession, project_id: AccessibleProjectID, skip: Collection[DocumentType] = ()
) -> Propagation | None:
    """The earliest document with stale items (``skip`` aside), or None when there is none."""
    marks = [
        mark
        for mark in await trace_repository.stale(session, project_id)
        if DocumentType(mark.document_type) not in skip
    ]
    if not marks:
        return None
    document = min((DocumentType(mark.document_type) for mark in marks), key=STAGE_ORDER.index)
    row = await document_repository.latest(session, project_id, document)
    mine = [mark for mark in marks if mark.document_type == document.value]
    nodes = {node.id: node for node in nodes_of(row)}
    if row is None or not any(mark.item_id in nodes for mark in mine):
        # Marks on items that are gone: nothing to update, and nothing should stay marked.
        await trace_repository.clear_stale(session, project_id, [mark.item_id for mark in mine])
        return await next_propagation(session, project_id, skip)
    by_section: dict[str, list[Node]] = {}
    for mark in mine:
        if mark.item_id in nodes:
            node = nodes[mark.item_id]
            by_section.setdefault(node.section, []).append(node)
    changed_ids = sorted({item for mark in mine for item in mark.cause_items}, key=id_order)
    active = await _active_nodes(session, project_id)
    texts = {node.id: node.text[:_CHANGE_CHARS] for nodes_ in active.values() for node in nodes_}
    causes = sorted(
        {(mark.cause_document_type, mark.cause_version) for mark in mine},
        key=lambda cause: (STAGE_ORDER.index(DocumentType(cause[0])), cause[1]),
    )
    return Propagation(
        document_type=document,
        version=row.version,
        sections=tuple(
            StaleSection(section, tuple(items)) for section, items in by_section.items()
        ),
        changes={item: texts.get(item) for item in changed_ids},
        causes=tuple(f"{name} v{number}" for name, number in causes),
    )


async def stale_items(session: AsyncSession, project_id: AccessibleProjectID) -> list[StaleRead]:
    return [_stale_read(row) for row in await trace_repository.stale(session, project_id)]


async def _active_nodes(
    session: AsyncSession, project_id: AccessibleProjectID
) -> dict[DocumentType, list[Node]]:
    return {
        DocumentType(row.document_type): nodes_of(row)
        for row in await document_repository.latest_of_each(session, project_id)
    }


def _stale_read(row: StaleItem) -> StaleRead:
    return StaleRead(
        item=row.item_id,
        document_type=DocumentType(row.document_type),
        cause_document_type=DocumentType(row.cause_document_type),
        cause_version=row.cause_version,
        cause_items=sorted(set(row.cause_items), key=id_order),
    )
