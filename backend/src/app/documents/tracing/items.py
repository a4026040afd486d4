"""Traceable items in a document's Markdown: read them, give them ids, check their links.

An item is a top-level list entry (at most one space before its bullet; deeper entries, such
as acceptance criteria, belong to the item above them) of a section whose kind lists items (see
:data:`app.documents.sections.REQUIRED_SECTIONS`). Its id leads the entry in bold, and what it
serves follows an arrow, anywhere in the entry::

    - **R-12** Users export the plan as a ZIP. → G-3
      - Acceptance: the archive opens in any unzip tool.

Ids are the engine's: whoever wrote the text (the model, a person, a rollback), an entry keeps
the id it carries when that id is this document's, gets back the id of a previous entry it
closely resembles when it carries none, and otherwise gets the next unused number of its kind.
An id that leaves the document is retired and never given to another entry. Pure code, no I/O:
bounded by the document's size (the section parse is linear, resemblance is compared only for
a bounded number of entries).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from enum import StrEnum

from app.documents.sections import REQUIRED_SECTIONS, ItemKind
from app.documents.tracing.exceptions import TraceLimitError
from app.projects.stages import STAGE_ORDER, DocumentType

ID_PATTERN = r"[GRCDTM]-[1-9][0-9]{0,5}"
_ID = re.compile(rf"\b{ID_PATTERN}\b")
_MARKER = re.compile(r"<!--\s*section\s*:\s*([A-Za-z0-9_]+)\s*-->", re.IGNORECASE)
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ITEM = re.compile(r"^(?P<lead> ?(?:[-*+]|[0-9]{1,3}[.)])[ \t]+)(?P<rest>\S.*)$")
# The id an entry opens with, as people and models write it: **R-12**, **R-12:**, [R-12], R-12:
_LEADING_ID = re.compile(
    rf"^(?:\*\*\s*(?P<bold>{ID_PATTERN})\s*[:.]?\s*\*\*|\[(?P<bracket>{ID_PATTERN})\]"
    rf"|(?P<bare>{ID_PATTERN})(?=[\s:.—–]))[ \t]*(?:[:.—–][ \t]*)?"
)
_ARROW = re.compile(rf"(?:→|->)[ \t]*(?P<ids>{ID_PATTERN}(?:[ \t]*[,;/][ \t]*{ID_PATTERN})*)")
_SPACE = re.compile(r"\s+")

# Which kinds an item may serve: a later document's items serve an earlier one's, and inside
# one document a decision may serve a component and a milestone the tasks it groups.
SERVES: Mapping[ItemKind, frozenset[ItemKind]] = {
    ItemKind.GOAL: frozenset(),
    ItemKind.REQUIREMENT: frozenset({ItemKind.GOAL}),
    ItemKind.COMPONENT: frozenset({ItemKind.REQUIREMENT, ItemKind.GOAL}),
    ItemKind.DECISION: frozenset({ItemKind.REQUIREMENT, ItemKind.COMPONENT, ItemKind.GOAL}),
    ItemKind.TASK: frozenset({ItemKind.REQUIREMENT, ItemKind.COMPONENT, ItemKind.DECISION}),
    ItemKind.MILESTONE: frozenset({ItemKind.TASK, ItemKind.REQUIREMENT}),
}
DOCUMENT_OF: Mapping[ItemKind, DocumentType] = {
    kind: document
    for document, specs in REQUIRED_SECTIONS.items()
    for spec in specs
    if (kind := spec.items) is not None
}
# Resemblance (0..1) above which an entry without an id is the previous entry it rewrites.
SAME_ITEM_RATIO = 0.72
# Resemblance is compared on the start of each text, for a bounded number of pairs in all
# (each pair costs up to a few hundred microseconds); past that, entries get new ids.
_MATCH_CHARS = 200
_MAX_COMPARED_PAIRS = 5_000
MAX_ITEMS = 2_000
"""Items one version may list: far more than a plan needs, and a bound on the work a write
does (ids, links, the rows it writes)."""
MAX_NUMBER = 999_999


class Author(StrEnum):
    AGENT = "agent"
    """The team wrote it: unknown ids are replaced and new links to nothing are dropped."""
    PERSON = "person"
    """A manual edit: a retired id typed back restores that item; a new link to nothing is
    refused, with the reason."""
    ROLLBACK = "rollback"
    """An earlier version's content: its ids come back, its links stay as they were."""


def kind_of(item_id: str) -> ItemKind:
    return ItemKind(item_id[0])


def number_of(item_id: str) -> int:
    return int(item_id[2:])


def id_order(item_id: str) -> tuple[str, int]:
    """Sort key: by kind, then by number (``R-2`` before ``R-10``)."""
    return item_id[0], number_of(item_id)


@dataclass(frozen=True, slots=True)
class Node:
    """One item of one version."""

    id: str
    section: str
    text: str
    """The entry's words, without its id and links, whitespace collapsed: what "changed" means."""
    links: tuple[str, ...]

    @property
    def kind(self) -> ItemKind:
        return kind_of(self.id)


@dataclass(frozen=True, slots=True)
class Known:
    """An id assigned in the project before: where it lives and whether it was retired."""

    document: DocumentType
    retired: bool


@dataclass(frozen=True, slots=True)
class BadLink:
    item: str
    target: str
    reason: str

    def describe(self) -> str:
        return f"{self.item} → {self.target}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Assignment:
    content: str
    """The version's content with every item's id written in its canonical place."""
    nodes: tuple[Node, ...]
    created: tuple[str, ...]
    retired: tuple[str, ...]
    restored: tuple[str, ...]
    dropped_links: tuple[BadLink, ...]
    refused_links: tuple[BadLink, ...]
    changed: tuple[str, ...] = field(default=())
    """Ids of the previous version whose text changed, or which were retired."""


@dataclass(slots=True)
class _Entry:
    section: str
    kind: ItemKind
    first_line: int
    last_line: int
    lead: str
    rest: str
    """The first line after the lead, without a leading id."""
    written_id: str | None
    links: list[str]
    text: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class EntryText:
    """One list entry's text taken apart: the id it opens with, its words, what it serves."""

    id: str | None
    words: str
    links: tuple[str, ...]


def read_entry(text: str) -> EntryText:
    """``text`` (one line of an entry, Markdown or plain) read the way items are read."""
    written_id, text = _leading_id(text)
    words = _SPACE.sub(" ", _ARROW.sub(" ", text)).strip()
    return EntryText(written_id, words, tuple(dict.fromkeys(_links_in(text))))


def item_kinds(document: DocumentType) -> dict[str, ItemKind]:
    """The sections of ``document`` that list items, and the kind they list."""
    return {spec.key: spec.items for spec in REQUIRED_SECTIONS[document] if spec.items is not None}


def read_nodes(content: str, document: DocumentType) -> list[Node]:
    """The items as written, with the ids they carry (entries without one are left out)."""
    lines = content.splitlines(keepends=True)
    return [
        Node(entry.written_id, entry.section, entry.text, tuple(entry.links))
        for entry in _entries(lines, document)
        if entry.written_id is not None and kind_of(entry.written_id) is entry.kind
    ]


def assign(
    content: str,
    document: DocumentType,
    *,
    previous: Sequence[Node],
    known: Mapping[str, Known],
    author: Author,
) -> Assignment:
    """Ids for the items of a new version of ``document`` and the check of their links.

    ``previous`` is the active version's items (empty for a first version); ``known`` every id
    assigned in the project so far, this document's and the others'.
    """
    lines = content.splitlines(keepends=True)
    entries = _entries(lines, document)
    if len(entries) > MAX_ITEMS:
        raise TraceLimitError(
            f"The {document} document lists {len(entries)} items; at most {MAX_ITEMS} are "
            "traced. Split long lists into prose, or move items to another document.",
            details={"items": len(entries), "max_items": MAX_ITEMS},
        )
    restored = _keep_written_ids(entries, document, known, author, previous)
    _recognise_rewritten(entries, previous)
    created = _number_the_rest(entries, known)
    present = {entry.id for entry in entries if entry.id is not None}
    previous_links = {node.id: set(node.links) for node in previous}
    dropped: list[BadLink] = []
    refused: list[BadLink] = []
    if author is not Author.ROLLBACK:
        for entry in entries:
            assert entry.id is not None
            earlier = previous_links.get(entry.id, set())
            for target in list(entry.links):
                reason = _link_problem(entry.kind, target, document, known, present, restored)
                if reason is None or target in earlier:
                    continue  # an old link to what was retired since is a gap, not an error
                bad = BadLink(entry.id, target, reason)
                if author is Author.AGENT:
                    entry.links.remove(target)
                    dropped.append(bad)
                else:
                    refused.append(bad)
    rewritten = _rewrite(lines, entries, dropped)
    nodes = tuple(
        Node(entry.id, entry.section, entry.text, tuple(dict.fromkeys(entry.links)))
        for entry in entries
        if entry.id is not None
    )
    retired = tuple(node.id for node in previous if node.id not in present)
    by_id = {node.id: node for node in nodes}
    changed = tuple(
        node.id for node in previous if node.id not in by_id or by_id[node.id].text != node.text
    )
    return Assignment(
        content=rewritten,
        nodes=nodes,
        created=tuple(created),
        retired=retired,
        restored=tuple(sorted(restored)),
        dropped_links=tuple(dropped),
        refused_links=tuple(refused),
        changed=changed,
    )


def _keep_written_ids(
    entries: Sequence[_Entry],
    document: DocumentType,
    known: Mapping[str, Known],
    author: Author,
    previous: Sequence[Node],
) -> set[str]:
    """Entries keep the ids they carry when the id is this document's item of their kind, once
    each; a retired one only when a person (or a rollback) brings it back. An id written twice
    stays with the entry in the item's own section (a copy elsewhere gets a new id), so a
    rewrite of one section never takes an id from another."""
    restored: set[str] = set()
    taken: set[str] = set()
    home = {node.id: node.section for node in previous}
    at_home = [entry for entry in entries if home.get(entry.written_id or "") == entry.section]
    first = {id(entry) for entry in at_home}
    for entry in [*at_home, *(entry for entry in entries if id(entry) not in first)]:
        written = entry.written_id
        if written is None or written in taken or kind_of(written) is not entry.kind:
            continue
        assigned = known.get(written)
        if assigned is None or assigned.document is not document:
            continue
        if assigned.retired:
            if author is Author.AGENT:
                continue
            restored.add(written)
        entry.id = written
        taken.add(written)
    return restored


def _recognise_rewritten(entries: Sequence[_Entry], previous: Sequence[Node]) -> None:
    """An entry without an id that closely resembles a previous item no entry carries any more
    is that item rewritten: it keeps the id (the team rewrote a line and lost its id)."""
    taken = {entry.id for entry in entries if entry.id is not None}
    orphans = [node for node in previous if node.id not in taken]
    unnamed = [entry for entry in entries if entry.id is None]
    budget = _MAX_COMPARED_PAIRS
    for entry in unnamed:
        best: tuple[float, Node] | None = None
        for node in orphans:
            if node.section != entry.section or node.kind is not entry.kind:
                continue
            if budget <= 0:
                return
            budget -= 1
            ratio = _resemblance(entry.text, node.text)
            if ratio >= SAME_ITEM_RATIO and (best is None or ratio > best[0]):
                best = (ratio, node)
        if best is not None:
            entry.id = best[1].id
            orphans.remove(best[1])


def _resemblance(first: str, second: str) -> float:
    a, b = first[:_MATCH_CHARS].casefold(), second[:_MATCH_CHARS].casefold()
    if a == b:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    # The cheap upper bounds first: most pairs are told apart without the full comparison.
    if matcher.real_quick_ratio() < SAME_ITEM_RATIO or matcher.quick_ratio() < SAME_ITEM_RATIO:
        return 0.0
    return matcher.ratio()


def _number_the_rest(entries: Sequence[_Entry], known: Mapping[str, Known]) -> list[str]:
    highest: dict[ItemKind, int] = {}
    for item_id in known:
        kind = kind_of(item_id)
        highest[kind] = max(highest.get(kind, 0), number_of(item_id))
    created = []
    for entry in entries:
        if entry.id is None:
            highest[entry.kind] = highest.get(entry.kind, 0) + 1
            if highest[entry.kind] > MAX_NUMBER:
                raise TraceLimitError(
                    f"Every {entry.kind.name.lower()} id up to {entry.kind.value}-{MAX_NUMBER} "
                    "has been given out in this project; ids are never given twice."
                )
            entry.id = f"{entry.kind.value}-{highest[entry.kind]}"
            created.append(entry.id)
    return created


def _link_problem(
    kind: ItemKind,
    target: str,
    document: DocumentType,
    known: Mapping[str, Known],
    present: set[str],
    restored: set[str],
) -> str | None:
    target_kind = kind_of(target)
    if target_kind not in SERVES[kind]:
        return f"a {kind.name.lower()} cannot serve a {target_kind.name.lower()}"
    target_document = DOCUMENT_OF[target_kind]
    if target_document is document:
        return None if target in present else "no such item in this document"
    if STAGE_ORDER.index(target_document) > STAGE_ORDER.index(document):
        return "an item serves items of earlier documents only"
    assigned = known.get(target)
    if assigned is None:
        return "no such item"
    if assigned.retired and target not in restored:
        return "that item was retired"
    return None


# --- reading entries -----------------------------------------------------------------------


def _entries(lines: Sequence[str], document: DocumentType) -> list[_Entry]:
    kinds = item_kinds(document)
    if not kinds:
        return []
    entries: list[_Entry] = []
    section: str | None = None
    fenced = False
    current: _Entry | None = None
    for index, line in enumerate(lines):
        text = line.rstrip("\r\n")
        if _FENCE.match(text):
            fenced = not fenced
            _keep(current, entries)
            current = None
            continue
        if fenced:
            continue
        marker = _MARKER.search(text)
        if marker is not None:
            section = marker.group(1).lower()
        if marker is not None or _HEADING.match(text):
            _keep(current, entries)
            current = None
            continue
        item = _ITEM.match(text)
        kind = kinds.get(section) if section is not None else None
        if item is not None and kind is not None:
            _keep(current, entries)
            current = _started(index, section or "", kind, item.group("lead"), item.group("rest"))
        elif current is not None and (not text.strip() or text[:1] in " \t"):
            current.last_line = index
        else:
            _keep(current, entries)
            current = None
    _keep(current, entries)
    for entry in entries:
        body = [entry.rest, *(lines[i] for i in range(entry.first_line + 1, entry.last_line + 1))]
        # An arrow and the ids it names are read on one line: that is also where a dropped
        # link is taken out again (_without_links), so text and graph always agree.
        entry.links = list(dict.fromkeys(item for line in body for item in _links_in(line)))
        entry.text = _SPACE.sub(" ", " ".join(_ARROW.sub(" ", line) for line in body)).strip()
    return entries


def _started(index: int, section: str, kind: ItemKind, lead: str, rest: str) -> _Entry:
    written_id, rest = _leading_id(rest)
    return _Entry(section, kind, index, index, lead, rest, written_id, [], "")


def _leading_id(text: str) -> tuple[str | None, str]:
    """The id ``text`` opens with (in any form people write it), and the text after it."""
    written = _LEADING_ID.match(text)
    if written is None:
        return None, text
    found = written.group("bold") or written.group("bracket") or written.group("bare")
    return found, text[written.end() :]


def _keep(entry: _Entry | None, entries: list[_Entry]) -> None:
    if entry is not None:
        entries.append(entry)


def _links_in(text: str) -> Iterable[str]:
    for arrow in _ARROW.finditer(text):
        yield from _ID.findall(arrow.group("ids"))


# --- writing ids back ----------------------------------------------------------------------


def _rewrite(lines: Sequence[str], entries: Sequence[_Entry], dropped: Sequence[BadLink]) -> str:
    """The content with each entry's first line opening with its id in bold; links the engine
    dropped are taken out of their arrows. Every other line stays byte for byte."""
    out = list(lines)
    dropped_by_item: dict[str, set[str]] = {}
    for bad in dropped:
        dropped_by_item.setdefault(bad.item, set()).add(bad.target)
    for entry in entries:
        line = out[entry.first_line]
        ending = line[len(line.rstrip("\r\n")) :]
        out[entry.first_line] = f"{entry.lead}**{entry.id}** {entry.rest}{ending}"
        unwanted = dropped_by_item.get(entry.id or "")
        if unwanted:
            for index in range(entry.first_line, entry.last_line + 1):
                out[index] = _without_links(out[index], unwanted)
    return "".join(out)


def _without_links(line: str, unwanted: set[str]) -> str:
    def kept(arrow: re.Match[str]) -> str:
        ids = [item for item in _ID.findall(arrow.group("ids")) if item not in unwanted]
        return f"→ {', '.join(ids)}" if ids else ""

    return _ARROW.sub(kept, line)
