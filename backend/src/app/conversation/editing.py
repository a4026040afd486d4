"""Integration by sections: the Product Manager names edits, code assembles the document.

A document is read as a preamble and a run of *marked sections*. A marked section begins at
the heading right above its ``<!-- section:key -->`` marker (or at the marker when no heading
is there) and runs to the start of the next marked section. Edits replace, insert or remove
whole sections by key; everything they do not name stays byte for byte as it was. Pure code,
no I/O: the engine calls it with the version it read.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.documents.sections import REQUIRED_SECTIONS, section_marker
from app.projects.stages import DocumentType

_MARKER = re.compile(r"<!--\s*section\s*:\s*([A-Za-z0-9_]+)\s*-->", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}\s")


@dataclass(frozen=True, slots=True)
class Edit:
    op: str  # "accept" | "replace" | "insert" | "remove"
    section: str
    content: str | None


@dataclass(frozen=True, slots=True)
class _Block:
    key: str | None  # None: the preamble
    text: str


def split_sections(document: str) -> list[_Block]:
    """The preamble (possibly empty) and the marked sections, in document order; joining the
    blocks' texts gives the document back exactly."""
    lines = document.splitlines(keepends=True)
    starts: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, line in enumerate(lines):
        match = _MARKER.search(line)
        if match is None:
            continue
        key = match.group(1).lower()
        if key in seen:
            continue  # a repeated marker stays inside the section it appears in
        seen.add(key)
        start = _heading_above(lines, index)
        if starts and start <= starts[-1][0]:
            start = index
        starts.append((start, key))
    blocks = [_Block(None, "".join(lines[: starts[0][0]] if starts else lines))]
    for position, (start, key) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        blocks.append(_Block(key, "".join(lines[start:end])))
    return blocks


def _heading_above(lines: Sequence[str], marker_line: int) -> int:
    index = marker_line - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    if index >= 0 and _HEADING.match(lines[index]):
        return index
    return marker_line


def section_texts(document: str) -> dict[str, str]:
    return {block.key: block.text for block in split_sections(document) if block.key}


def apply_edits(
    document: str,
    edits: Iterable[Edit],
    stage: DocumentType,
    *,
    expert_section: str,
    expert_keys: Sequence[str],
) -> str:
    """``document`` with ``edits`` applied; the expert's own section is integrated by code when
    the edits leave none of the expert's sections in the document or change nothing at all, so
    an answered turn always lands in the document."""
    order = [spec.key for spec in REQUIRED_SECTIONS[stage]]
    blocks = split_sections(document)
    written = section_texts(expert_section)
    for edit in edits:
        if edit.section not in order:
            continue  # the schema names the stage's keys only; a stray key is ignored
        if edit.op == "accept":
            # The expert's own block for that key, or its whole section when it marked none.
            text = written.get(edit.section) or (expert_section if not written else None)
            if text is not None:
                blocks = _put(blocks, _Block(edit.section, _normalised(text, edit.section)), order)
        elif edit.op == "remove":
            blocks = [block for block in blocks if block.key != edit.section]
        elif edit.content is not None and edit.content.strip():
            text = _normalised(edit.content, edit.section)
            existing = next((b for b in blocks if b.key == edit.section), None)
            if existing is not None and edit.op == "insert":
                text = _joined(existing.text, _without_markers(edit.content))
            blocks = _put(blocks, _Block(edit.section, text), order)
    result = _assemble(blocks)
    present = {block.key for block in split_sections(result)}
    if result == document or not present.intersection(expert_keys):
        key = _expert_key(expert_section, expert_keys)
        blocks = _put(split_sections(result), _Block(key, _normalised(expert_section, key)), order)
        result = _assemble(blocks)
    return result


def touched_keys(edits: Iterable[Edit], expert_keys: Sequence[str]) -> set[str]:
    return {edit.section for edit in edits} | set(expert_keys)


def unchanged_between(old: str, new: str, keys: Iterable[str]) -> bool:
    """Whether the sections ``keys`` read the same in both versions (absent counts as a value)."""
    before, after = section_texts(old), section_texts(new)
    return all(before.get(key) == after.get(key) for key in keys)


def _expert_key(section: str, expert_keys: Sequence[str]) -> str:
    written = [match.group(1).lower() for match in _MARKER.finditer(section)]
    return next((key for key in written if key in expert_keys), expert_keys[0])


def _put(blocks: list[_Block], new: _Block, order: Sequence[str]) -> list[_Block]:
    """Replace the block of ``new.key``, or insert it where the stage's order puts it."""
    for index, block in enumerate(blocks):
        if block.key == new.key:
            return [*blocks[:index], new, *blocks[index + 1 :]]
    rank = order.index(new.key) if new.key in order else len(order)
    for index, block in enumerate(blocks):
        if block.key is not None and block.key in order and order.index(block.key) > rank:
            return [*blocks[:index], new, *blocks[index:]]
    return [*blocks, new]


def _normalised(content: str, key: str) -> str:
    """The section's text with exactly one marker, its own, right under its first heading."""
    lines = _without_markers(content).strip("\n").splitlines()
    marker = section_marker(key)
    if lines and _HEADING.match(lines[0]):
        body = [lines[0], "", marker, *(["", *lines[1:]] if lines[1:] else [])]
    else:
        body = [marker, "", *lines]
    return "\n".join(_collapse_blank_runs(body)).rstrip() + "\n\n"


def _without_markers(content: str) -> str:
    return _MARKER.sub("", content)


def _collapse_blank_runs(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    return out


def _joined(first: str, second: str) -> str:
    return first.rstrip("\n") + "\n\n" + second.strip("\n") + "\n\n"


def _assemble(blocks: Sequence[_Block]) -> str:
    """Blocks joined as they are; only a block that lost its line end gets one back, and the
    document ends with one line break."""
    parts: list[str] = []
    for block in blocks:
        if parts and parts[-1] and not parts[-1].endswith("\n"):
            parts[-1] += "\n\n"
        parts.append(block.text)
    text = "".join(parts)
    return text.rstrip("\n") + "\n" if text.strip() else text


def replace_sections(document: str, rewrites: Mapping[str, str], stage: DocumentType) -> str:
    """``document`` with the sections ``rewrites`` names replaced (each keeps its marker);
    every other block stays byte for byte."""
    order = [spec.key for spec in REQUIRED_SECTIONS[stage]]
    blocks = split_sections(document)
    for key, content in rewrites.items():
        if content.strip():
            blocks = _put(blocks, _Block(key, _normalised(content, key)), order)
    return _assemble(blocks)
