"""Reads and writes on the memory collection. Every function takes an ``AccessibleProjectID``
and puts it into the filter itself; a search also takes the project's language. No function
accepts a filter from its caller, so no caller can widen one."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from qdrant_client import models

from app.memory import constants
from app.memory.constants import MemorySource
from app.memory.schemas import MemoryHit
from app.memory.store import MemoryStore
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

_SCROLL_PAGE = 256


@dataclass(frozen=True, slots=True)
class MemoryPoint:
    id: str
    vector: list[float]
    payload: dict[str, Any]


def _project(project_id: AccessibleProjectID) -> models.FieldCondition:
    return models.FieldCondition(
        key=constants.PROJECT_ID, match=models.MatchValue(value=str(project_id))
    )


def _equals(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


async def upsert(
    store: MemoryStore, project_id: AccessibleProjectID, points: Sequence[MemoryPoint]
) -> None:
    if any(point.payload[constants.PROJECT_ID] != str(project_id) for point in points):
        raise ValueError("a memory point must be written under its own project")
    if not points:
        return
    await store.qdrant.upsert(
        await store.collection(),
        points=[
            models.PointStruct(id=point.id, vector=point.vector, payload=point.payload)
            for point in points
        ],
        wait=True,
    )


async def stored_vectors(
    store: MemoryStore, project_id: AccessibleProjectID, hashes: Collection[str]
) -> dict[str, list[float]]:
    """Vectors already computed for these chunk hashes anywhere in the project."""
    wanted = set(hashes)
    found: dict[str, list[float]] = {}
    if not wanted:
        return found
    only_these = models.Filter(
        must=[
            _project(project_id),
            models.FieldCondition(
                key=constants.CHUNK_HASH, match=models.MatchAny(any=sorted(wanted))
            ),
        ]
    )
    offset: models.ExtendedPointId | None = None
    while True:
        points, offset = await store.qdrant.scroll(
            await store.collection(),
            scroll_filter=only_these,
            limit=_SCROLL_PAGE,
            offset=offset,
            with_payload=[constants.CHUNK_HASH],
            with_vectors=True,
        )
        for point in points:
            digest = (point.payload or {}).get(constants.CHUNK_HASH)
            if isinstance(digest, str):
                found.setdefault(digest, cast(list[float], point.vector))
        # Older versions of a document hold copies of the same chunk: stop once each is found.
        if offset is None or found.keys() >= wanted:
            return found


async def delete_document_chunks(
    store: MemoryStore,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    *,
    versions: models.Range,
) -> None:
    """Remove the chunks of the document's versions in ``versions`` (e.g. every one before)."""
    await store.qdrant.delete(
        await store.collection(),
        points_selector=models.FilterSelector(
            filter=models.Filter(
                must=[
                    _project(project_id),
                    _equals(constants.SOURCE, MemorySource.DOCUMENT),
                    _equals(constants.DOCUMENT_TYPE, document_type),
                    models.FieldCondition(key=constants.VERSION, range=versions),
                ]
            )
        ),
        wait=True,
    )


async def delete_project(store: MemoryStore, project_id: AccessibleProjectID) -> None:
    await store.qdrant.delete(
        await store.collection(),
        points_selector=models.FilterSelector(filter=models.Filter(must=[_project(project_id)])),
        wait=True,
    )


async def relabel_language(
    store: MemoryStore, project_id: AccessibleProjectID, language: str
) -> None:
    """Put every point of the project under ``language`` (its language was corrected)."""
    await store.qdrant.set_payload(
        await store.collection(),
        payload={constants.LANGUAGE: language},
        points=models.Filter(
            must=[_project(project_id)],
            must_not=[_equals(constants.LANGUAGE, language)],
        ),
        wait=True,
    )


async def count(store: MemoryStore, project_id: AccessibleProjectID) -> int:
    result = await store.qdrant.count(
        await store.collection(),
        count_filter=models.Filter(must=[_project(project_id)]),
        exact=True,
    )
    return result.count


async def search(
    store: MemoryStore,
    project_id: AccessibleProjectID,
    language: str,
    vector: list[float],
    *,
    limit: int,
    exclude_document: str | None = None,
) -> list[MemoryHit]:
    """The closest chunks of this project in this language, filtered by the server, one per
    distinct text (the same paragraph kept by a document and a section comes back once).
    ``exclude_document``: leave out the chunks of that document's versions (a caller that has
    the document in its prompt already); sections written for it still count."""
    if not constants.LANGUAGE_CODE.fullmatch(language):
        raise ValueError(f"not an ISO 639-1 code: {language!r}")
    result = await store.qdrant.query_points_groups(
        await store.collection(),
        query=vector,
        group_by=constants.CHUNK_HASH,
        group_size=1,
        limit=limit,
        query_filter=models.Filter(
            must=[_project(project_id), _equals(constants.LANGUAGE, language)],
            must_not=[]
            if exclude_document is None
            else [
                models.Filter(
                    must=[
                        _equals(constants.SOURCE, str(MemorySource.DOCUMENT)),
                        _equals(constants.DOCUMENT_TYPE, exclude_document),
                    ]
                )
            ],
        ),
        with_payload=True,
    )
    hits = [group.hits[0] for group in result.groups if group.hits]
    return [_hit(point) for point in sorted(hits, key=lambda point: point.score, reverse=True)]


def _hit(point: models.ScoredPoint) -> MemoryHit:
    payload = point.payload or {}
    document_type = payload.get(constants.DOCUMENT_TYPE)
    return MemoryHit(
        text=payload[constants.TEXT],
        score=point.score,
        source=MemorySource(payload[constants.SOURCE]),
        document_type=None if document_type is None else DocumentType(document_type),
        version=payload.get(constants.VERSION),
        heading=payload.get(constants.HEADING),
    )
