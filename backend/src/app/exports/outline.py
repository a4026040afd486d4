"""A document read as an outline: its title, its sections, and the list items and checklist
items in each, the raw material every export layout is mapped from.

Deterministic and forgiving: a section is a heading with everything under it up to the next
heading of the same or a higher level, and its key is the ``<!-- section:key -->`` marker
right under the heading (None for a heading the checklist does not know). Fenced code is kept
as text but never read as headings or items.
"""

import re
from dataclasses import dataclass

from app.documents.sections import present_section_keys
from app.documents.tracing.items import read_entry
from app.exports.readme import plain_text, without_comments

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
# Top-level items only (at most three spaces of indent): nested ones belong to their parent.
_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d+[.)])\s+(?:\[(?P<mark>[ xX])\]\s+)?(?P<text>\S.*)$")
_MARKER_LINE = re.compile(r"^\s*<!--\s*section\s*:", re.IGNORECASE)
_MAX_NAME_CHARS = 80
# Level 0 sorts before every heading: the preamble is always among the outermost parts.
_PREAMBLE_LEVEL = 0


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    text: str
    done: bool


@dataclass(frozen=True, slots=True)
class Section:
    key: str | None
    title: str
    level: int
    # The Markdown under the heading (sub-sections included), markers and comments removed.
    body: str
    items: tuple[str, ...]
    checklist: tuple[ChecklistItem, ...]
    # The checklist items above its first sub-heading: each item belongs to one section.
    own_checklist: tuple[ChecklistItem, ...]
    paragraphs: tuple[str, ...]

    @property
    def statements(self) -> tuple[str, ...]:
        """What the section states: its list items, or its paragraphs when it has none."""
        return self.items or self.paragraphs


@dataclass(frozen=True, slots=True)
class Outline:
    title: str | None
    sections: tuple[Section, ...]

    def section(self, key: str) -> Section | None:
        return next((section for section in self.sections if section.key == key), None)

    @property
    def parts(self) -> tuple[Section, ...]:
        """The sections a layout maps one by one, in order: the text under the title, then the
        headings of the document's outermost level (each with what is under it)."""
        levels = [section.level for section in self.sections if section.level != _PREAMBLE_LEVEL]
        top = min(levels, default=_PREAMBLE_LEVEL)
        return tuple(s for s in self.sections if s.level in (_PREAMBLE_LEVEL, top))

    @property
    def checklist(self) -> tuple[tuple[Section, ChecklistItem], ...]:
        """Every checklist item once, with the innermost section it sits in."""
        return tuple((section, item) for section in self.sections for item in section.own_checklist)

    @property
    def summary(self) -> str | None:
        first = next((s for s in self.sections if s.paragraphs), None)
        return first.paragraphs[0] if first else None


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    in_code: bool


def _lines(content: str) -> list[_Line]:
    text = _FRONT_MATTER.sub("", content.replace("\r\n", "\n"))
    lines: list[_Line] = []
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            lines.append(_Line(line, True))
            in_code = not in_code
        else:
            lines.append(_Line(line, in_code))
    return lines


def _heading(line: _Line) -> tuple[int, str] | None:
    if line.in_code:
        return None
    match = _HEADING.match(line.text)
    return (len(match.group(1)), plain_text(match.group(2))) if match else None


def _paragraphs(lines: list[_Line]) -> tuple[str, ...]:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, _Line("", False)]:
        stripped = line.text.strip()
        prose = (
            not line.in_code
            and stripped
            and _heading(line) is None
            and not _ITEM.match(line.text)
            and not stripped.startswith(("|", ">", "<", "    "))
        )
        if prose:
            current.append(stripped)
            continue
        if current:
            paragraphs.append(plain_text(" ".join(current)))
            current = []
    return tuple(paragraph for paragraph in paragraphs if paragraph)


def _items(lines: list[_Line]) -> tuple[list[str], list[ChecklistItem]]:
    items: list[str] = []
    checklist: list[ChecklistItem] = []
    for line in lines:
        match = None if line.in_code else _ITEM.match(line.text)
        if match is None:
            continue
        text = _traced(plain_text(without_comments(match.group("text"))))
        if not text:
            continue
        if match.group("mark") is None:
            items.append(text)
        else:
            checklist.append(ChecklistItem(text=text, done=match.group("mark") != " "))
    return items, checklist


def _traced(text: str) -> str:
    """An item's words first, its trace id and what it serves after them in parentheses
    (``R-3 Sign-in sends a code → G-1`` reads ``Sign-in sends a code (R-3 → G-1)``): layouts
    map the words (a requirement's trigger stays first) and keep the id beside them."""
    entry = read_entry(text)
    if entry.id is None:
        return text
    tag = entry.id + (f" → {', '.join(entry.links)}" if entry.links else "")
    return f"{entry.words} ({tag})" if entry.words else tag


def _section(key: str | None, level: int, title: str, lines: list[_Line]) -> Section:
    body_lines = [line for line in lines if line.in_code or not _MARKER_LINE.match(line.text)]
    items, checklist = _items(body_lines)
    first_sub = next((i for i, line in enumerate(body_lines) if _heading(line)), len(body_lines))
    _, own_checklist = _items(body_lines[:first_sub])
    body = without_comments("\n".join(line.text for line in body_lines)).strip()
    return Section(
        key=key,
        title=title,
        level=level,
        body=body,
        items=tuple(items),
        checklist=tuple(checklist),
        own_checklist=tuple(own_checklist),
        paragraphs=_paragraphs(body_lines),
    )


def _key_under(lines: list[_Line], start: int) -> str | None:
    """The marker on the first non-blank line under a heading, if any."""
    for line in lines[start:]:
        if not line.text.strip():
            continue
        if line.in_code or _heading(line) is not None:
            return None
        keys = present_section_keys(line.text)
        return min(keys) if keys else None
    return None


def _preamble(lines: list[_Line], title: str, start: int, end: int | None) -> Section | None:
    """The text between the title and the first heading (an idea's summary sits there), as a
    section of the outermost level so that it is mapped like the others."""
    chunk = lines[start:end]
    if not any(line.text.strip() for line in chunk):
        return None
    section = _section(_key_under(lines, start), _PREAMBLE_LEVEL, title, chunk)
    return section if section.body or section.key else None


def outline(content: str) -> Outline:
    lines = _lines(content)
    headings = [(index, found) for index, line in enumerate(lines) if (found := _heading(line))]
    title: str | None = None
    sections: list[Section] = []
    for position, (index, (level, text)) in enumerate(headings):
        if title is None and level == 1 and position == 0:
            title = text
            preamble = _preamble(
                lines, text, index + 1, headings[1][0] if len(headings) > 1 else None
            )
            if preamble is not None:
                sections.append(preamble)
            continue
        end = next(
            (later for later, (lvl, _) in headings[position + 1 :] if lvl <= level), len(lines)
        )
        key = _key_under(lines, index + 1)
        sections.append(_section(key, level, text, lines[index + 1 : end]))
    if not headings:
        sections.append(_section(_key_under(lines, 0), _PREAMBLE_LEVEL, "", lines))
    return Outline(title=title, sections=tuple(sections))


def short_name(text: str) -> str:
    """A one-line name for an item: its words up to a length a heading can carry."""
    words = " ".join(text.split())
    if len(words) <= _MAX_NAME_CHARS:
        return words.rstrip(".;:")
    return words[: _MAX_NAME_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
