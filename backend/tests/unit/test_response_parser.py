"""The response parser: real-world replies, and properties over generated ones."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.conversation.parser import (
    OPTION_LETTERS,
    ParsedReply,
    QuestionSpec,
    SelectionError,
    describe_valid,
    parse_reply,
)

# Three questions: 1 has a–c, 2 has a–e, 3 has a–d.
QUESTIONS = (
    QuestionSpec.lettered(1, 3),
    QuestionSpec.lettered(2, 5),
    QuestionSpec.lettered(3, 4),
)

Errors = list[tuple[int, str | None]]

# (reply, selections, free text, errors as (question, letter))
REAL_WORLD: list[tuple[str, dict[int, list[str]], str, Errors]] = [
    # The syntaxes of the spec.
    ("1.b, 2.c, 2.d, 3.a", {1: ["b"], 2: ["c", "d"], 3: ["a"]}, "", []),
    ("1b 2c", {1: ["b"], 2: ["c"]}, "", []),
    ("1) b", {1: ["b"]}, "", []),
    ("1 - b", {1: ["b"]}, "", []),
    ("1-b", {1: ["b"]}, "", []),
    ("1: b", {1: ["b"]}, "", []),
    ("1 — b", {1: ["b"]}, "", []),
    ("1 – b, 3–d", {1: ["b"], 3: ["d"]}, "", []),
    ("1.B, 2.C", {1: ["b"], 2: ["c"]}, "", []),
    ("1B 2E", {1: ["b"], 2: ["e"]}, "", []),
    ("2 a", {2: ["a"]}, "", []),
    ("1 a, 2 b", {1: ["a"], 2: ["b"]}, "", []),
    # Several letters for one question.
    ("2.c,d", {2: ["c", "d"]}, "", []),
    ("2.c, d", {2: ["c", "d"]}, "", []),
    ("2.cd", {2: ["c", "d"]}, "", []),
    ("2cd 3ab", {2: ["c", "d"], 3: ["a", "b"]}, "", []),
    ("2 c d", {2: ["c", "d"]}, "", []),
    ("2.c/d", {2: ["c", "d"]}, "", []),
    ("2.c and d, 3.a", {2: ["c", "d"], 3: ["a"]}, "", []),
    ("2: c, d, 3: a", {2: ["c", "d"], 3: ["a"]}, "", []),
    ("2.dc", {2: ["d", "c"]}, "", []),
    ("2.c, 2.c, 2.C", {2: ["c"]}, "", []),
    # Separators, spacing and punctuation.
    ("1.b\n2.c\n3.a", {1: ["b"], 2: ["c"], 3: ["a"]}, "", []),
    ("1.b;2.c;3.a", {1: ["b"], 2: ["c"], 3: ["a"]}, "", []),
    ("  1.b ,   2.c  ", {1: ["b"], 2: ["c"]}, "", []),
    ("1.b\u00a0\u00a02.c", {1: ["b"], 2: ["c"]}, "", []),
    ("1.b,\u20032.c", {1: ["b"], 2: ["c"]}, "", []),
    ("1.b and 2.c", {1: ["b"], 2: ["c"]}, "", []),
    ("1 a and 2 b", {1: ["a"], 2: ["b"]}, "", []),
    ("1.b и 2.c", {1: ["b"], 2: ["c"]}, "", []),
    ("1.b, 2.c.", {1: ["b"], 2: ["c"]}, "", []),
    ("1.b!", {1: ["b"]}, "", []),
    ("１．ｂ, ２）ｃ", {1: ["b"], 2: ["c"]}, "", []),
    # Cyrillic lookalikes of a, c, e; в is not read as b.
    ("1.а, 2.с, 2.е", {1: ["a"], 2: ["c", "e"]}, "", []),
    ("1.А 3.С", {1: ["a"], 3: ["c"]}, "", []),
    ("2.се", {2: ["c", "e"]}, "", []),
    ("1.в", {}, "1.в", []),
    # Mixed with free text, which is kept.
    (
        "1.b, 2.c — and please focus on B2B customers",
        {1: ["b"], 2: ["c"]},
        "and please focus on B2B customers",
        [],
    ),
    ("1.b, 2.c — нужен упор на B2B", {1: ["b"], 2: ["c"]}, "нужен упор на B2B", []),
    ("1.b, 2.c нужен упор на B2B", {1: ["b"], 2: ["c"]}, "нужен упор на B2B", []),
    ("Мой выбор: 1.b, 2.c", {1: ["b"], 2: ["c"]}, "Мой выбор", []),
    ("Think mobile first.\n1.b\n2.a", {1: ["b"], 2: ["a"]}, "Think mobile first.", []),
    ("I pick 1.b", {1: ["b"]}, "I pick", []),
    ("Cheapest (1.b) first", {1: ["b"]}, "Cheapest first", []),
    ("1 - b, 2 - c, 3 - a (дешевле)", {1: ["b"], 2: ["c"], 3: ["a"]}, "(дешевле)", []),
    ("Ответы:\n1) b\n2) c, d\n3) a", {1: ["b"], 2: ["c", "d"], 3: ["a"]}, "Ответы", []),
    ("Option 1.b, because it is cheaper", {1: ["b"]}, "Option because it is cheaper", []),
    (
        "1.b 2.c\n\nAlso:   keep it   cheap",
        {1: ["b"], 2: ["c"]},
        "Also: keep it cheap",
        [],
    ),
    ("Hi!\n\n\n\n2 a", {2: ["a"]}, "Hi!", []),
    # A listed letter that starts a phrase stays free text.
    ("1.b, 2.c, а также нужен упор на B2B", {1: ["b"], 2: ["c"]}, "а также нужен упор на B2B", []),
    ("1.b, 2.c, a cheaper plan is fine", {1: ["b"], 2: ["c"]}, "a cheaper plan is fine", []),
    # Pure free text and prose with numbers: no selections.
    ("", {}, "", []),
    ("Let's target small bakeries first", {}, "Let's target small bakeries first", []),
    ("  Сначала — пекарни.\n\n\n Потом  кафе ", {}, "Сначала — пекарни.\n\nПотом кафе", []),
    ("I have 2 cats and 3 dogs", {}, "I have 2 cats and 3 dogs", []),
    ("version 1.2 shipped in 2024", {}, "version 1.2 shipped in 2024", []),
    ("1 apple a day", {}, "1 apple a day", []),
    ("I need 2 a day", {}, "I need 2 a day", []),
    ("We print in 3d, and sell 2D posters", {}, "We print in 3d, and sell 2D posters", []),
    ("Интеграция с 1С обязательна", {}, "Интеграция с 1С обязательна", []),
    ("1. A mobile app is the priority", {}, "1. A mobile app is the priority", []),
    ("1. А если бюджет маленький?", {}, "1. А если бюджет маленький?", []),
    ("2. С другой стороны, нужна аналитика", {}, "2. С другой стороны, нужна аналитика", []),
    ("Meet at 5 a.m. tomorrow", {}, "Meet at 5 a.m. tomorrow", []),
    ("Section 1.2.a covers it", {}, "Section 1.2.a covers it", []),
    ("B2B and B2C", {}, "B2B and B2C", []),
    ("5: e-mail only", {}, "5: e-mail only", []),
    # Deliberately not read as selections (see the module docstring).
    ("1.b please focus on cost", {}, "1.b please focus on cost", []),
    ("1b2c", {}, "1b2c", []),
    ("0.a", {}, "0.a", []),
    ("Q1: b", {}, "Q1: b", []),
    # References that do not exist: errors, and only valid picks are kept.
    ("7.a", {}, "", [(7, None)]),
    ("1.e", {}, "", [(1, "e")]),
    ("3.x", {}, "", [(3, "x")]),
    ("1.b, 1.e, 2.c", {1: ["b"], 2: ["c"]}, "", [(1, "e")]),
    ("1.b, 4.a, 4.b", {1: ["b"]}, "", [(4, None)]),
    ("1.de, 1.d", {}, "", [(1, "d"), (1, "e")]),
    ("9 a 1 a", {1: ["a"]}, "", [(9, None)]),
]


@pytest.mark.parametrize(
    ("reply", "selections", "free_text", "errors"),
    REAL_WORLD,
    ids=[repr(row[0]) for row in REAL_WORLD],
)
def test_real_world_reply(
    reply: str, selections: dict[int, list[str]], free_text: str, errors: Errors
) -> None:
    parsed = parse_reply(reply, QUESTIONS)

    assert parsed.selections == selections
    assert parsed.free_text == free_text
    assert [(error.question, error.letter) for error in parsed.errors] == errors
    assert parsed.is_valid is (not errors)


def test_selections_are_ordered_by_question_number() -> None:
    parsed = parse_reply("3.a, 1.b, 2.c", QUESTIONS)

    assert list(parsed.selections) == [1, 2, 3]


def test_errors_explain_themselves_in_english() -> None:
    parsed = parse_reply("7.a, 1.e", QUESTIONS)

    assert [error.message for error in parsed.errors] == [
        "question 7 does not exist",
        "question 1 has no option 'e'",
    ]


def test_describe_valid_lists_each_question_and_its_letters() -> None:
    questions = [QuestionSpec.lettered(1, 3), QuestionSpec.lettered(2, 5)]

    assert describe_valid(questions) == "1: a–c; 2: a–e"


def test_describe_valid_spells_out_short_or_gapped_letter_sets() -> None:
    questions = [QuestionSpec.lettered(1, 2), QuestionSpec(number=2, letters=("a", "c"))]

    assert describe_valid(questions) == "1: a, b; 2: a, c"


def test_parsed_reply_round_trips_through_json() -> None:
    parsed = parse_reply("1.b, 2.cd, 7.a — cheap first", QUESTIONS)

    restored = ParsedReply.model_validate_json(parsed.model_dump_json())

    assert restored == parsed
    assert restored.selections == {1: ["b"], 2: ["c", "d"]}


def test_parsed_reply_is_immutable() -> None:
    parsed = parse_reply("1.b", QUESTIONS)

    with pytest.raises(ValidationError):
        parsed.free_text = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("number", "letters"),
    [(0, ("a",)), (10, ("a",)), (1, ()), (1, ("a", "a")), (1, ("a", "f")), (1, ("A",))],
)
def test_question_spec_rejects_what_the_grammar_cannot_express(
    number: int, letters: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match=r"question|letters"):
        QuestionSpec(number=number, letters=letters)


def test_duplicate_question_numbers_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unique"):
        parse_reply("1.a", [QuestionSpec.lettered(1, 2), QuestionSpec.lettered(1, 3)])


def test_selection_error_has_no_letter_for_a_missing_question() -> None:
    error = SelectionError(question=7, message="question 7 does not exist")

    assert error.letter is None


# --- Properties -----------------------------------------------------------------------------

_SETTINGS = settings(max_examples=300, database=None)

_NUMBER_SEPARATORS = [
    *[".", ". ", ")", ") ", ":", ": ", " - ", "-", " – ", " — ", "—", "．", "："],
    *["", " ", "  "],  # implicit: spaces or nothing
]
_LETTER_JOINERS = ["", ",", ", ", "/", " ", " and ", " и ", " & "]
_TOKEN_JOINERS = [", ", ",", "; ", ";", "\n", " ", "  ", " and ", " и ", "\u00a0", ",\n", ". "]
_LOOKALIKES = {"a": "аА", "c": "сС", "e": "еЕ"}
_FULL_WIDTH_OFFSET = 0xFF10 - ord("0")


@st.composite
def question_specs(draw: st.DrawFn) -> list[QuestionSpec]:
    counts = draw(st.lists(st.integers(2, 5), min_size=1, max_size=5))
    return [QuestionSpec.lettered(number, count) for number, count in enumerate(counts, start=1)]


@st.composite
def rendered_letter(draw: st.DrawFn, letter: str) -> str:
    style = draw(st.sampled_from(["lower", "upper", "lookalike", "full-width"]))
    if style == "upper":
        return letter.upper()
    if style == "lookalike" and letter in _LOOKALIKES:
        return draw(st.sampled_from(_LOOKALIKES[letter]))
    if style == "full-width":
        return chr(ord(letter) - ord("a") + 0xFF41)
    return letter


@st.composite
def rendered_token(draw: st.DrawFn, number: int, letters: list[str]) -> str:
    digit = str(number)
    if draw(st.booleans()):
        digit = chr(ord(digit) + _FULL_WIDTH_OFFSET)
    joiner = draw(st.sampled_from(_LETTER_JOINERS))
    rendered = joiner.join(draw(rendered_letter(letter)) for letter in letters)
    return digit + draw(st.sampled_from(_NUMBER_SEPARATORS)) + rendered


@st.composite
def answers(draw: st.DrawFn, questions: list[QuestionSpec]) -> list[tuple[int, list[str]]]:
    """Picks as tokens: (question, letters), a question possibly split over several tokens."""
    tokens: list[tuple[int, list[str]]] = []
    answered = draw(st.lists(st.sampled_from(questions), min_size=1, unique=True))
    for question in answered:
        letters = draw(st.lists(st.sampled_from(question.letters), min_size=1, unique=True))
        if draw(st.booleans()):
            tokens.append((question.number, letters))
        else:
            tokens.extend((question.number, [letter]) for letter in letters)
    return draw(st.permutations(tokens))


@st.composite
def replies(draw: st.DrawFn, questions: list[QuestionSpec]) -> tuple[str, dict[int, list[str]]]:
    tokens = draw(answers(questions))
    text = ""
    for index, (number, letters) in enumerate(tokens):
        if index:
            text += draw(st.sampled_from(_TOKEN_JOINERS))
        text += draw(rendered_token(number, letters))
    return text, _expected_selections(tokens)


def _expected_selections(tokens: list[tuple[int, list[str]]]) -> dict[int, list[str]]:
    expected: dict[int, list[str]] = {}
    for number, letters in tokens:
        chosen = expected.setdefault(number, [])
        chosen.extend(letter for letter in letters if letter not in chosen)
    return dict(sorted(expected.items()))


# Words without digits, so they can never hold a selection.
_words = st.lists(
    st.text(st.characters(categories=["L"]), min_size=1, max_size=8), min_size=1, max_size=6
).map(" ".join)


@_SETTINGS
@given(data=st.data(), questions=question_specs())
def test_valid_selections_in_any_accepted_syntax_are_found_exactly(
    data: st.DataObject, questions: list[QuestionSpec]
) -> None:
    text, expected = data.draw(replies(questions))

    parsed = parse_reply(text, questions)

    assert parsed.selections == expected
    assert parsed.errors == []
    assert parsed.free_text == ""


@_SETTINGS
@given(
    data=st.data(),
    questions=question_specs(),
    before=st.none() | _words,
    after=st.none() | _words,
)
def test_free_text_around_selections_is_kept(
    data: st.DataObject, questions: list[QuestionSpec], before: str | None, after: str | None
) -> None:
    text, expected = data.draw(replies(questions))
    reply = (f"{before}\n" if before else "") + text + (f" — {after}" if after else "")

    parsed = parse_reply(reply, questions)

    assert parsed.selections == expected
    assert parsed.free_text.split() == f"{before or ''} {after or ''}".split()


@_SETTINGS
@given(data=st.data(), questions=question_specs())
def test_references_that_do_not_exist_are_errors_and_valid_picks_survive(
    data: st.DataObject, questions: list[QuestionSpec]
) -> None:
    text, expected = data.draw(replies(questions))
    missing = data.draw(st.integers(len(questions) + 1, 9))

    parsed = parse_reply(f"{text}, {missing}.a", questions)

    assert parsed.selections == expected
    assert [(error.question, error.letter) for error in parsed.errors] == [(missing, None)]
    assert not parsed.is_valid


@_SETTINGS
@given(
    text=st.text(st.characters(exclude_categories=["Nd"])),
    questions=question_specs(),
)
def test_text_without_digits_is_free_text_only(text: str, questions: list[QuestionSpec]) -> None:
    parsed = parse_reply(text, questions)

    assert parsed.selections == {}
    assert parsed.errors == []
    assert parsed.free_text.split() == text.split()


_GRAMMAR_HEAVY = st.text(st.sampled_from("0123456789abcdefxABCDEаАсСеЕвиand.,;:)-—–/& \n\u00a0"))


@_SETTINGS
@given(text=st.text() | _GRAMMAR_HEAVY, questions=question_specs())
def test_any_text_parses_without_raising_into_a_consistent_result(
    text: str, questions: list[QuestionSpec]
) -> None:
    parsed = parse_reply(text, questions)

    valid = {question.number: question.letters for question in questions}
    assert list(parsed.selections) == sorted(parsed.selections)
    for number, letters in parsed.selections.items():
        assert letters
        assert len(set(letters)) == len(letters)
        assert set(letters) <= set(valid[number])
    for error in parsed.errors:
        assert error.question not in valid or error.letter not in valid[error.question]
    assert parsed.free_text == parsed.free_text.strip()
    assert "  " not in parsed.free_text
    assert parsed.is_valid is (not parsed.errors)


def test_every_option_letter_is_understood() -> None:
    questions = [QuestionSpec.lettered(1, 5)]

    parsed = parse_reply(", ".join(f"1.{letter}" for letter in OPTION_LETTERS), questions)

    assert parsed.selections == {1: list(OPTION_LETTERS)}
