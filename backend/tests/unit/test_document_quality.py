from concurrent.futures import ThreadPoolExecutor

import pytest

from app.documents.quality import QualityReport, Readability, assess_quality
from app.documents.rendering import render_preview
from app.documents.sections import REQUIRED_SECTIONS, section_marker
from app.projects.stages import DocumentType

ENGLISH = f"""# Problem
{section_marker("problem")}

Small teams waste days turning a raw product idea into documents that an engineer can act on.
The founder knows what the product should do, but the notes are scattered across chats and
files. Nobody writes down the audience, the goals or the risks until it is too late.

## Audience
{section_marker("audience")}

- Solo developers who want a clear plan before they write code.
- Product managers who prepare material for a technical lead.
"""

RUSSIAN = f"""# Проблема
{section_marker("problem")}

Небольшие команды тратят дни на то, чтобы превратить сырую идею продукта в документы для
инженера. Основатель знает, что должен делать продукт, но заметки разбросаны по чатам и файлам.
Никто не записывает аудиторию, цели и риски, пока не становится слишком поздно.

## Аудитория
{section_marker("audience")}

- Разработчики-одиночки, которым нужен понятный план до начала работы.
- Менеджеры продукта, которые готовят материалы для технического руководителя.
"""

DENSE_ENGLISH = (
    "The architectural specification necessitates horizontal scalability of computational "
    "infrastructure through automatic distribution of operational workloads among independent "
    "application instances. The corresponding configuration guarantees organisational "
    "resilience and minimises administrative expenditure considerably."
)


def assess(
    text: str, language: str | None, kind: DocumentType = DocumentType.IDEA
) -> QualityReport:
    return assess_quality(
        text, preview_html=render_preview(text), document_type=kind, language=language
    )


def test_english_prose_gets_a_flesch_reading_ease_score() -> None:
    readability = assess(ENGLISH, "en").readability
    assert readability.status == "ok"
    assert readability.metric == "flesch_reading_ease"
    assert readability.language == "en"
    assert readability.score is not None
    assert 60 <= readability.score <= 75  # 66.1 with textstat 0.7.8
    assert readability.grade == "standard"


def test_russian_prose_gets_the_russian_adaptation_of_the_formula() -> None:
    readability = assess(RUSSIAN, "ru").readability
    assert readability.status == "ok"
    assert readability.metric == "flesch_reading_ease_oborneva"
    assert readability.language == "ru"
    assert readability.score is not None
    assert 30 <= readability.score <= 50  # 40.5 with textstat 0.7.8
    assert readability.grade == "difficult"


def test_short_plain_sentences_read_as_easy() -> None:
    text = (
        "Users sign in with one click. They type the idea in a chat. The team asks a few short "
        "questions. Each answer goes into the plan. When the user is happy, the files are ready."
    )
    readability = assess(text, "en").readability
    assert readability.score is not None
    assert readability.score >= 90  # 94 with textstat 0.7.8
    assert readability.grade == "easy"


def test_denser_text_scores_as_harder_to_read() -> None:
    plain = assess(ENGLISH, "en").readability.score
    dense = assess(DENSE_ENGLISH, "en").readability
    assert plain is not None
    assert dense.score is not None
    assert dense.score < 0 < plain
    assert dense.grade == "difficult"


@pytest.mark.parametrize("language", ["ja", "zh", "pl", "hu", "xx", None, ""])
def test_a_language_without_a_formula_gets_no_number(language: str | None) -> None:
    readability = assess(RUSSIAN, language).readability
    assert readability == Readability(
        status="not_supported",
        metric=None,
        score=None,
        grade=None,
        language=language or None,
    )


@pytest.mark.parametrize(("given", "seen_as"), [("EN", "en"), ("en-GB", "en"), ("ru_RU", "ru")])
def test_region_and_case_of_the_language_code_do_not_matter(given: str, seen_as: str) -> None:
    readability = assess(ENGLISH if seen_as == "en" else RUSSIAN, given).readability
    assert readability.status == "ok"
    assert readability.language == seen_as


def test_too_little_prose_gets_no_number() -> None:
    readability = assess("# Idea\n\nA short note.\n", "en").readability
    assert readability.status == "insufficient_text"
    assert readability.score is None
    assert readability.grade is None


def test_word_count_covers_any_script_but_not_markup_markers_or_code() -> None:
    text = (
        "## Цели\n"
        f"{section_marker('goals_kpis')}\n\n"
        "**Рост** выручки — на 20 %, [подробнее](https://example.com).\n\n"
        "```python\nnot_prose = True\n```\n\n"
        "| Метрика | Цель |\n|---|---|\n| DAU | 1000 |\n"
    )
    report = assess(text, "ru")
    # Цели · Рост выручки на 20 подробнее · Метрика Цель DAU 1000
    assert report.word_count == 10
    assert report.heading_count == 1
    assert report.character_count == len(text)


def test_hyphenated_words_and_contractions_count_once() -> None:
    assert assess("Разработчики-одиночки don't wait.", "en").word_count == 3


def test_headings_inside_code_blocks_are_not_headings() -> None:
    text = "# One\n\n```markdown\n# Not a heading\n```\n\n## Two\n\n### Three\n"
    assert assess(text, None).heading_count == 3


def test_the_section_checklist_follows_the_markers() -> None:
    report = assess(RUSSIAN, "ru")
    expected = REQUIRED_SECTIONS[DocumentType.IDEA]
    assert [check.key for check in report.sections] == [spec.key for spec in expected]
    assert [check.title for check in report.sections] == [spec.title for spec in expected]
    assert {check.key for check in report.sections if check.present} == {"problem", "audience"}
    assert report.sections_present == 2
    assert report.sections_expected == len(expected)


def test_the_checklist_is_the_one_of_the_document_type() -> None:
    text = f"## CI\n{section_marker('ci_cd')}\n\n## Problem\n{section_marker('problem')}\n"
    report = assess(text, "en", DocumentType.ARCHITECTURE)
    assert report.document_type is DocumentType.ARCHITECTURE
    assert [check.key for check in report.sections if check.present] == ["ci_cd"]
    assert report.sections_present == 1


def test_an_empty_document() -> None:
    report = assess("", "en", DocumentType.PLAN)
    assert (report.word_count, report.heading_count, report.character_count) == (0, 0, 0)
    assert report.readability.status == "insufficient_text"
    assert report.sections_present == 0


def test_concurrent_callers_in_different_languages_get_their_own_results() -> None:
    jobs = [(ENGLISH, "en"), (RUSSIAN, "ru"), (RUSSIAN, "ja"), (DENSE_ENGLISH, "en")] * 8
    expected = [assess(text, language) for text, language in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: assess(*job), jobs))
    assert results == expected
