"""The trace graph of a project's active versions: its links, its gaps, and what a change
reaches. Pure code over the items of each document (see :mod:`.items`)."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.documents.sections import ItemKind
from app.documents.tracing.items import Node
from app.projects.stages import STAGE_ORDER, DocumentType


class GapKind(StrEnum):
    UNSERVED_GOAL = "unserved_goal"
    """A goal no requirement serves (once specs is written)."""
    UNREALISED_REQUIREMENT = "unrealised_requirement"
    """A requirement no component and no task serves (once architecture or plan is written)."""
    PURPOSELESS_TASK = "purposeless_task"
    """A task that serves nothing."""
    RETIRED_LINK = "retired_link"
    """A link to an item that was retired (or never existed)."""


@dataclass(frozen=True, slots=True)
class Gap:
    kind: GapKind
    item: str
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    source: str
    target: str
    retired: bool


def links_of(documents: Mapping[DocumentType, Sequence[Node]], active: set[str]) -> list[Link]:
    return [
        Link(node.id, target, target not in active)
        for document in STAGE_ORDER
        for node in documents.get(document, ())
        for target in node.links
    ]


def gaps_of(documents: Mapping[DocumentType, Sequence[Node]]) -> list[Gap]:
    """The gaps, in document order; a gap that needs a later document waits until it exists."""
    active = {node.id for nodes in documents.values() for node in nodes}
    served_by: dict[str, set[ItemKind]] = {}
    for nodes in documents.values():
        for node in nodes:
            for target in node.links:
                served_by.setdefault(target, set()).add(node.kind)
    gaps: list[Gap] = []
    for node in _all(documents):
        kinds = served_by.get(node.id, set())
        if (
            node.kind is ItemKind.GOAL
            and DocumentType.SPECS in documents
            and ItemKind.REQUIREMENT not in kinds
        ):
            gaps.append(Gap(GapKind.UNSERVED_GOAL, node.id))
        if (
            node.kind is ItemKind.REQUIREMENT
            and (DocumentType.ARCHITECTURE in documents or DocumentType.PLAN in documents)
            and not kinds & {ItemKind.COMPONENT, ItemKind.TASK}
        ):
            gaps.append(Gap(GapKind.UNREALISED_REQUIREMENT, node.id))
        if node.kind is ItemKind.TASK and not node.links:
            gaps.append(Gap(GapKind.PURPOSELESS_TASK, node.id))
        gaps.extend(
            Gap(GapKind.RETIRED_LINK, node.id, target)
            for target in node.links
            if target not in active
        )
    return gaps


def reached_by(
    documents: Mapping[DocumentType, Sequence[Node]],
    changed_in: DocumentType,
    changed: Iterable[str],
) -> dict[str, set[str]]:
    """The items of documents after ``changed_in`` that link to a changed (or retired) item,
    each with the changed ids it links to."""
    changed_ids = set(changed)
    later = STAGE_ORDER[STAGE_ORDER.index(changed_in) + 1 :]
    reached: dict[str, set[str]] = {}
    for document in later:
        for node in documents.get(document, ()):
            hit = changed_ids.intersection(node.links)
            if hit:
                reached[node.id] = hit
    return reached


def _all(documents: Mapping[DocumentType, Sequence[Node]]) -> Iterable[Node]:
    for document in STAGE_ORDER:
        yield from documents.get(document, ())
