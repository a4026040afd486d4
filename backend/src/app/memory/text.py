"""Normalisation and Markdown-aware chunking of what goes into project memory.

Chunks follow the document's own structure: a chunk never spans two headings, so a hit is about
one topic, and it starts with the trail of headings above it ("Architecture > Storage"), which
both the embedding and the expert reading the hit need to tell what the text is about. A
section longer than the budget is cut at the largest boundary that fits (blank line, line,
sentence, word), and each of its chunks after the first repeats the end of the previous one, so
a statement cut in two is still found whole in one of them.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

HEADING_SEPARATOR = " > "

# Zero-width characters and the soft hyphen: invisible, yet they change the hash and split words.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# Control characters other than tab and newline (NUL, escape sequences, …).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# HTML comments are invisible in every viewer, and documents use them as section markers
# (``<!-- section:problem -->``): they mean nothing to a reader and would only add noise.
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INNER_SPACES = re.compile(r"(?<=\S)[ \t]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A sentence ends with terminal punctuation (Latin, CJK, Devanagari danda) followed by space.
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？।])\s+")
# A heading trail takes at most a quarter of a chunk: the rest is for the text under it.
_TRAIL_SHARE = 4


def _fence_after(line: str, fence: str | None) -> tuple[bool, str | None]:
    """Whether ``line`` opens or closes a code fence, and the fence still open after it: a
    fence closes only with a run of the same character at least as long."""
    marker = _FENCE.match(line)
    if marker is None:
        return False, fence
    run = marker.group(1)
    if fence is None:
        return True, run
    if run[0] == fence[0] and len(run) >= len(fence):
        return True, None
    return True, fence


def normalise(text: str) -> str:
    """Canonical text: NFKC, Unix newlines, no invisible characters or HTML comments, runs of
    spaces inside a line collapsed (indentation kept: it carries list and code structure),
    no trailing spaces and at most one blank line in a row."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    text = text.replace("\t", "    ")
    text = _CONTROL.sub("", text)
    lines = [_INNER_SPACES.sub(" ", line).rstrip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    """What is embedded and returned: the heading trail, a blank line, then the body."""
    heading: str | None
    hash: str


@dataclass(frozen=True, slots=True)
class _Section:
    titles: tuple[str, ...]
    body: str


def chunk_markdown(text: str, *, max_chars: int, overlap_chars: int) -> list[Chunk]:
    """Split Markdown into chunks of at most ``max_chars`` characters, in document order.

    Identical chunks (a paragraph repeated in two places) are kept once.
    """
    if overlap_chars * 2 >= max_chars:
        raise ValueError("the overlap must be less than half a chunk")
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in _sections(normalise(text)):
        heading = _trail(section.titles, max_chars // _TRAIL_SHARE)
        prefix = f"{heading}\n\n" if heading else ""
        budget = max_chars - len(prefix)
        for piece in _pack(_atoms(section.body, budget), budget, overlap_chars):
            chunk_text = prefix + piece
            digest = content_hash(chunk_text)
            if digest not in seen:
                seen.add(digest)
                chunks.append(Chunk(text=chunk_text, heading=heading, hash=digest))
    return chunks


def _sections(text: str) -> Iterator[_Section]:
    """The text between headings, each with the titles of the headings it sits under. Lines in
    fenced code blocks are never headings (``# comment`` in a shell snippet)."""
    trail: list[tuple[int, str]] = []
    body: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        is_fence, fence = _fence_after(line, fence)
        heading = _ATX_HEADING.match(line) if fence is None and not is_fence else None
        if heading is None:
            body.append(line)
            continue
        yield _Section(tuple(title for _, title in trail), "\n".join(body).strip("\n"))
        body = []
        level = len(heading.group(1))
        trail = [(depth, title) for depth, title in trail if depth < level]
        title = (heading.group(2) or "").strip()
        if title:
            trail.append((level, title))
    yield _Section(tuple(title for _, title in trail), "\n".join(body).strip("\n"))


def _trail(titles: tuple[str, ...], limit: int) -> str | None:
    if not titles:
        return None
    trail = HEADING_SEPARATOR.join(titles)
    if len(trail) <= limit:
        return trail
    # Keep the nearest headings: they say most about the text below them.
    return "…" + trail[-(limit - 1) :]


@dataclass(frozen=True, slots=True)
class _Atom:
    text: str
    separator: str
    """What stood between this atom and the previous one in the text."""


_SPLITTERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\n"), "\n"),
    (_SENTENCE_END, " "),
    (re.compile(r"\s+"), " "),
)


def _atoms(body: str, budget: int) -> list[_Atom]:
    """The body as units of at most ``budget`` characters: whole blocks where they fit, else
    lines, sentences, words, and as a last resort slices of one over-long word."""
    atoms: list[_Atom] = []
    for index, block in enumerate(_blocks(body)):
        separator = "\n\n" if index else ""
        atoms.extend(_split(block, budget, separator, 0))
    return atoms


def _blocks(body: str) -> list[str]:
    """Paragraphs separated by blank lines; a fenced code block stays one block even when it
    holds blank lines."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in body.split("\n"):
        _, fence = _fence_after(line, fence)
        if not line.strip() and fence is None:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _split(text: str, budget: int, separator: str, level: int) -> list[_Atom]:
    if len(text) <= budget:
        return [_Atom(text, separator)]
    if level == len(_SPLITTERS):
        return [
            _Atom(text[start : start + budget], separator if start == 0 else "")
            for start in range(0, len(text), budget)
        ]
    pattern, inner = _SPLITTERS[level]
    parts = [part for part in pattern.split(text) if part.strip()]
    atoms: list[_Atom] = []
    for index, part in enumerate(parts):
        atoms.extend(_split(part, budget, separator if index == 0 else inner, level + 1))
    return atoms


def _pack(atoms: list[_Atom], budget: int, overlap_chars: int) -> list[str]:
    """Join atoms greedily into pieces of at most ``budget`` characters; each piece after the
    first begins with up to ``overlap_chars`` from the end of the one before it."""
    pieces: list[str] = []
    current = ""
    for atom in atoms:
        if not current:
            current = atom.text
            continue
        if len(current) + len(atom.separator) + len(atom.text) <= budget:
            current += atom.separator + atom.text
            continue
        pieces.append(current)
        tail = _tail(current, overlap_chars)
        joined = f"{tail} {atom.text}" if tail else atom.text
        current = joined if len(joined) <= budget else atom.text
    if current:
        pieces.append(current)
    return pieces


def _tail(text: str, limit: int) -> str:
    """The end of ``text``, at most ``limit`` characters, starting at a word."""
    if limit <= 0:
        return ""
    tail = text[-limit:]
    if len(tail) < len(text) and not text[-limit - 1].isspace():
        space = re.search(r"\s", tail)
        tail = "" if space is None else tail[space.end() :]
    return " ".join(tail.split())
