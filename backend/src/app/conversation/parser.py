"""The response parser: a user's reply to an expert's questions → selections + free text.

Deterministic and pure (no LLM, no I/O). An expert asks questions numbered 1…n, each with
options lettered from ``a``; the user answers in one message with free text, selections such as
``1.b, 2.c, 2.d``, or both. This module finds the selections, keeps the rest as free text and
reports every reference to a question or option that does not exist.

Grammar
-------
A *token* is a question number, a separator and one or more option letters:

- number: one digit 1–9 (ASCII or full-width), not glued to a preceding letter or digit and not
  the tail of a decimal (``B2B``, ``12.a``, ``1.2.a`` hold no token; ``0`` is never a number);
- separator, either *explicit* — ``.`` ``)`` ``:`` or a dash (hyphen, en/em dash, minus, also
  full-width ``．）：``), with optional spaces around — or *implicit*: spaces or nothing;
- letters: ``a``–``e`` in either case; Cyrillic ``а``, ``с``, ``е`` (upper case too) and
  full-width letters count as their Latin twins. After an explicit separator a single letter
  may also be any other Latin letter, so ``1.f`` is reported as an option that does not exist;
- several letters for one question: contiguous (``2cd``, ``2.cd``, at most five), or listed
  after the first with ``,`` ``/`` ``+`` ``&`` ``and`` ``и`` or spaces (``2.c,d``, ``2.c/d``,
  ``2 c d``, ``2.c and d``). Repeating the question also works (``2.c, 2.d``). A listed letter is
  taken only if the list ends cleanly after it (see below), so the article in ``2.c, a cheaper
  plan`` or the Russian conjunction in ``2.c, а также`` stays free text;
- a letter group must not run into a word: no letter or digit may follow it, nor ``.``/``'``/a
  hyphen followed by a letter (``1 apple``, ``3 a.m.``, ``5: e-mail`` hold no token).

Tokens separated only by spaces, line breaks, ``,`` ``;`` ``.`` ``/`` ``|`` ``&`` ``+`` ``and``
or ``и`` form a *run*. A run of two or more tokens is always a selection list. A lone token is
one only if it ends cleanly — the text, the line or a clause ends right after it (``,`` ``;``
``.`` ``!`` ``?`` ``…`` ``)`` ``(``, a closing quote, or a dash followed by a space) — and it
either uses an explicit separator or starts cleanly (at the start of the text or a line, or
after ``,`` ``;`` ``:`` an opening bracket or quote, or a dash). So ``1.b`` and ``2 a`` alone
are selections, while ``1. A mobile app…``, ``2. С другой стороны…``, ``I need 2 a day`` and
``интеграция с 1С`` are prose. When in doubt the parser leaves text as free text: the expert
still reads it, whereas a wrong selection would silently change the answer.

Free text is everything outside accepted runs. The separators at a run's boundary are dropped
(after a run: spaces and ``, ; : . ! ? …`` and dashes; before it: spaces, ``, ; : …`` and
dashes — a sentence's own full stop before a run is kept), and brackets around a run go with
it. Fragments are joined by a line break if a line break was removed between them, else by a
space. Whitespace is then tidied: runs of spaces (any Unicode space) become one, lines are
trimmed, at most one empty line is kept between paragraphs and the text is trimmed.

Not accepted, and left as free text: letter-based numbering (``Q1: b``), the Russian option
letters ``б``, ``в``, ``г``, ``д`` (``в`` may be a Russian third option, so it is never read as
``b``), tokens glued together (``1b2c``), ranges (``2.c-e``).
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field

OPTION_LETTERS = "abcde"

_LINE_BREAKS = r"\n\r\v\f\x1c-\x1e\x85\u2028\u2029"
_SPACE = rf"[^\S{_LINE_BREAKS}]"  # any Unicode whitespace except line breaks
_DASH = r"[\-\u2010-\u2015\u2212\uff0d]"
_NUMBER = r"[1-9\uff11-\uff19]"
# Cyrillic а/А, с/С, е/Е look exactly like a, c, e; full-width letters come from CJK input.
_OPTION = r"[a-eA-E\u0430\u0410\u0441\u0421\u0435\u0415\uff41-\uff45\uff21-\uff25]"
_ANY_LETTER = r"[a-zA-Z\u0430\u0410\u0441\u0421\u0435\u0415\uff41-\uff5a\uff21-\uff3a]"
_EXPLICIT = rf"(?:[.):\uff0e\uff09\uff1a]|{_DASH})"
_CONNECTOR = r"(?<!\w)(?i:and|и)(?!\w)"
_END_OF_LETTERS = r"(?!\w|[.'\u2019\-\u2010\u2011][^\W\d_])"
_CHUNK = rf"{_OPTION}{{1,5}}{_END_OF_LETTERS}"
_LIST_SEPARATOR = (
    rf"(?:{_SPACE}*+[,/+&\uff0c\u3001]{_SPACE}*+|{_SPACE}++{_CONNECTOR}{_SPACE}++|{_SPACE}++)"
)
_CLEAN_END = (
    rf"{_SPACE}*+(?:\Z|[{_LINE_BREAKS}]"
    r"|[,;.!?\u2026()\"'\u00bb\u201d\u2019\uff0c\u3002\uff01\uff1f\uff1b\uff09]"
    rf"|{_DASH}+(?:\s|\Z))"
)
_GAP = rf"(?:[\s,;./|&+\uff0c\uff1b\u3001]|{_CONNECTOR})*+"
# A listed letter must be followed by more listed letters and then a clean end or the next
# token; bounded, so a long reply cannot make the lookahead quadratic.
_MORE_LETTERS = (
    rf"(?:{_LIST_SEPARATOR}{_CHUNK}"
    rf"(?=(?:{_LIST_SEPARATOR}{_CHUNK}){{0,8}}(?:{_CLEAN_END}|{_GAP}{_NUMBER})))"
)

_TOKEN = re.compile(
    rf"""
    (?<!\w)(?<![0-9\uff10-\uff19][.,\uff0e\uff0c])
    (?P<number>{_NUMBER})
    (?:
        (?P<explicit>{_SPACE}*+{_EXPLICIT}{_SPACE}*+)
        (?P<strong>(?:{_CHUNK}|{_ANY_LETTER}{_END_OF_LETTERS}){_MORE_LETTERS}{{0,9}}+)
      | {_SPACE}*+(?P<weak>{_CHUNK}{_MORE_LETTERS}{{0,9}}+)
    )
    """,
    re.VERBOSE,
)
_GAP_BETWEEN_TOKENS = re.compile(_GAP)
_ENDS_CLEANLY = re.compile(_CLEAN_END)
_CONNECTOR_WORD = re.compile(_CONNECTOR)
_LETTER = re.compile(_ANY_LETTER)
_LINE_BREAK = re.compile(rf"[{_LINE_BREAKS}]")

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"
_OPENS_AFTER = ",;:([{«\"'“„‘" + _DASHES + "\uff0c\uff1b\uff1a\uff08\u3001"
_STRIP_AFTER_RUN = ",;:.!?\u2026" + _DASHES + "\uff0c\uff1b\uff1a\u3002\uff01\uff1f\u3001"
_STRIP_BEFORE_RUN = ",;:\u2026" + _DASHES + "\uff0c\uff1b\uff1a\u3001"

_BRACKETS = {"(": ")", "[": "]", "\uff08": "\uff09"}

_TO_ASCII = str.maketrans(
    "\u0430\u0410\u0441\u0421\u0435\u0415"
    + "".join(chr(code) for code in range(0xFF41, 0xFF5B))
    + "".join(chr(code) for code in range(0xFF21, 0xFF3B))
    + "".join(chr(code) for code in range(0xFF10, 0xFF1A)),
    "aacceeabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789",
)


@dataclass(frozen=True)
class QuestionSpec:
    """One question as the parser sees it: its number and the letters of its options."""

    number: int
    letters: tuple[str, ...]

    def __post_init__(self) -> None:
        # The grammar reads one digit as the question number and a–e as option letters.
        if not 1 <= self.number <= 9:
            raise ValueError(f"question number must be 1–9, got {self.number}")
        if not self.letters or len(set(self.letters)) != len(self.letters):
            raise ValueError(f"question {self.number} needs distinct option letters")
        if any(letter not in OPTION_LETTERS for letter in self.letters):
            raise ValueError(f"option letters must be among {OPTION_LETTERS!r}")

    @classmethod
    def lettered(cls, number: int, option_count: int) -> "QuestionSpec":
        """A question whose options are lettered from ``a`` without gaps."""
        return cls(number=number, letters=tuple(OPTION_LETTERS[:option_count]))


class SelectionError(BaseModel):
    """A reference to a question or an option that does not exist."""

    model_config = ConfigDict(frozen=True)

    question: int
    letter: str | None = None
    message: str


class ParsedReply(BaseModel):
    """A reply split into valid selections, free text and invalid references."""

    model_config = ConfigDict(frozen=True)

    selections: dict[int, list[str]] = Field(default_factory=dict)
    free_text: str = ""
    errors: list[SelectionError] = Field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    number: int
    letters: tuple[str, ...]
    explicit: bool


def parse_reply(text: str, questions: Sequence[QuestionSpec]) -> ParsedReply:
    """Split a reply into selections and free text; invalid references become errors."""
    numbers = [question.number for question in questions]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"question numbers must be unique, got {numbers}")
    runs = [run for run in _runs(text, _tokens(text)) if _is_selection(text, run)]
    selections, errors = _resolve((token for run in runs for token in run), questions)
    spans = [_with_brackets(text, run[0].start, run[-1].end) for run in runs]
    return ParsedReply(selections=selections, free_text=_free_text(text, spans), errors=errors)


def describe_valid(questions: Sequence[QuestionSpec]) -> str:
    """What a reply may refer to, e.g. ``1: a–c; 2: a–e``, for the message to the user."""
    return "; ".join(
        f"{question.number}: {_letter_range(question.letters)}" for question in questions
    )


def _letter_range(letters: tuple[str, ...]) -> str:
    consecutive = all(ord(later) - ord(earlier) == 1 for earlier, later in pairwise(letters))
    if len(letters) > 2 and consecutive:
        return f"{letters[0]}–{letters[-1]}"
    return ", ".join(letters)


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        letters = match["strong"] or match["weak"]
        tokens.append(
            _Token(
                start=match.start(),
                end=match.end(),
                number=int(match["number"].translate(_TO_ASCII)),
                letters=_letters_of(letters),
                explicit=match["explicit"] is not None,
            )
        )
    return tokens


def _letters_of(group: str) -> tuple[str, ...]:
    # "and"/"и" are made of letters too; drop them before reading the option letters.
    without_connectors = _CONNECTOR_WORD.sub(" ", group)
    return tuple(
        letter.translate(_TO_ASCII).lower() for letter in _LETTER.findall(without_connectors)
    )


def _runs(text: str, tokens: list[_Token]) -> list[list[_Token]]:
    runs: list[list[_Token]] = []
    for token in tokens:
        if runs and _GAP_BETWEEN_TOKENS.fullmatch(text, runs[-1][-1].end, token.start):
            runs[-1].append(token)
        else:
            runs.append([token])
    return runs


def _is_selection(text: str, run: list[_Token]) -> bool:
    if len(run) > 1:
        return True
    token = run[0]
    if _ENDS_CLEANLY.match(text, token.end) is None:
        return False
    return token.explicit or _starts_cleanly(text, token.start)


def _starts_cleanly(text: str, start: int) -> bool:
    position = start
    while position > 0 and text[position - 1].isspace() and not _is_line_break(text, position - 1):
        position -= 1
    if position == 0 or _is_line_break(text, position - 1):
        return True
    return text[position - 1] in _OPENS_AFTER


def _is_line_break(text: str, index: int) -> bool:
    return _LINE_BREAK.match(text, index) is not None


def _resolve(
    tokens: Iterable[_Token], questions: Sequence[QuestionSpec]
) -> tuple[dict[int, list[str]], list[SelectionError]]:
    valid_letters = {question.number: question.letters for question in questions}
    picks: dict[int, list[str]] = {}
    # Keyed so that the same wrong reference typed twice is reported once.
    errors: dict[tuple[int, str | None], SelectionError] = {}
    for token in tokens:
        letters = valid_letters.get(token.number)
        if letters is None:
            message = f"question {token.number} does not exist"
            errors.setdefault(
                (token.number, None), SelectionError(question=token.number, message=message)
            )
            continue
        for letter in token.letters:
            if letter not in letters:
                message = f"question {token.number} has no option {letter!r}"
                errors.setdefault(
                    (token.number, letter),
                    SelectionError(question=token.number, letter=letter, message=message),
                )
                continue
            chosen = picks.setdefault(token.number, [])
            if letter not in chosen:
                chosen.append(letter)
    return dict(sorted(picks.items())), list(errors.values())


def _free_text(text: str, spans: list[tuple[int, int]]) -> str:
    bounds = [0, *(edge for span in spans for edge in span), len(text)]
    fragments = []
    for index in range(0, len(bounds), 2):
        start, end = bounds[index], bounds[index + 1]
        if index > 0:
            start = _skip_forward(text, start, end, _STRIP_AFTER_RUN)
        if index + 2 < len(bounds):
            end = _skip_backward(text, start, end, _STRIP_BEFORE_RUN)
        if start < end:
            fragments.append((start, end))
    pieces: list[str] = []
    for position, (start, end) in enumerate(fragments):
        if position > 0:
            removed = text[fragments[position - 1][1] : start]
            pieces.append("\n" if _LINE_BREAK.search(removed) else " ")
        pieces.append(text[start:end])
    return _tidy_whitespace("".join(pieces))


def _with_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    # "(1.b) cheaper" would otherwise leave "( ) cheaper" behind in the free text.
    before = _skip_backward(text, 0, start, "")
    after = _skip_forward(text, end, len(text), "")
    if before > 0 and after < len(text) and _BRACKETS.get(text[before - 1]) == text[after]:
        return before - 1, after + 1
    return start, end


def _skip_forward(text: str, start: int, end: int, punctuation: str) -> int:
    while start < end and (text[start].isspace() or text[start] in punctuation):
        start += 1
    return start


def _skip_backward(text: str, start: int, end: int, punctuation: str) -> int:
    while end > start and (text[end - 1].isspace() or text[end - 1] in punctuation):
        end -= 1
    return end


def _tidy_whitespace(text: str) -> str:
    lines: list[str] = []
    for line in text.splitlines():
        tidy = " ".join(line.split())
        # One empty line keeps paragraphs apart; more carries no meaning.
        if tidy or (lines and lines[-1]):
            lines.append(tidy)
    return "\n".join(lines).strip()
