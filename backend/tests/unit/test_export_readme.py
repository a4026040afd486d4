import time
from datetime import UTC, datetime

import pytest

from app.exports.readme import (
    README_LABELS,
    IndexEntry,
    document_summary,
    document_title,
    readme_language,
    render_readme,
)
from app.projects.stages import DocumentType


def test_every_language_translates_every_document_title() -> None:
    for language, labels in README_LABELS.items():
        assert set(labels.titles) == set(DocumentType), language
        assert "{date}" in labels.intro, language


@pytest.mark.parametrize(
    ("language", "expected"), [("ru", "ru"), ("ja", "ja"), ("sw", "en"), (None, "en")]
)
def test_the_readme_uses_the_project_language_where_translated(
    language: str | None, expected: str
) -> None:
    assert readme_language(language) == expected


@pytest.mark.parametrize(
    ("content", "title"),
    [
        ("# Title\n\ntext", "Title"),
        ("intro\n\n## **Bold** heading ##\n", "Bold heading"),
        ("no heading at all", None),
        ("---\ntitle: x\n---\nSetext title\n======\n\nbody", "Setext title"),
        ("Intro\n\nSub\n---\n", "Sub"),
    ],
)
def test_title_is_the_first_heading(content: str, title: str | None) -> None:
    assert document_title(content) == title


@pytest.mark.parametrize(
    ("content", "summary"),
    [
        ("# T\n\n<!-- section:summary -->\nFirst one. Second one.", "First one."),
        ("# T\n\n- a list\n* item\n1. step\n\n**Bold** start here.", "Bold start here."),
        ("# T\n\n```\nnot this\n```\n\n| a | b |\n\nA [link](http://x) wins!", "A link wins!"),
        ("# T\n\n> quoted\n\n<div>html</div>\n", None),
        ("Первое предложение. Второе.", "Первое предложение."),
        ("这是第一句。这是第二句。", "这是第一句。"),
        ("---\nlayout: doc\n---\n\nAfter front matter. More.", "After front matter."),
        ("# T\n\n---\n\nAfter a break.", "After a break."),
        ("Title\n=====\n\nUnder a setext title.", "Under a setext title."),
        (
            "# T\n\nA hard-wrapped\nparagraph ends here. Next.",
            "A hard-wrapped paragraph ends here.",
        ),
        ("# T\n\nsnake_case_name and 2 * 3 * 4 stay.", "snake_case_name and 2 * 3 * 4 stay."),
        ("# T\n\n![logo](logo.png) Text after an image.", "Text after an image."),
        ("# T\n\n    indented code\n\nProse after code.", "Prose after code."),
    ],
)
def test_summary_is_the_first_sentence_of_prose(content: str, summary: str | None) -> None:
    assert document_summary(content) == summary


def test_a_long_summary_is_cut_at_a_word() -> None:
    summary = document_summary("word " * 100)
    assert summary is not None
    assert len(summary) <= 200
    assert summary.endswith("word…")


def test_render_lists_present_and_absent_documents_in_stage_order() -> None:
    readme = render_readme(
        "Café",
        "fr",
        datetime(2026, 11, 26, tzinfo=UTC),
        [
            IndexEntry(DocumentType.IDEA, "01-idea/idea.md", "# L'idée\n\nUn café.", 3),
            IndexEntry(DocumentType.SPECS, "02-specs/specs.md", None, None),
        ],
    )
    assert readme.splitlines()[:6] == [
        "# Café",
        "",
        "Les documents de ce projet, exportés le 2026-11-26.",
        "",
        "1. [L'idée](01-idea/idea.md) (version 3) — Un café.",
        "2. Spécifications — *pas encore rédigé*",
    ]


def test_brackets_in_a_title_do_not_break_its_link() -> None:
    readme = render_readme(
        "P",
        "en",
        datetime(2026, 11, 26, tzinfo=UTC),
        [IndexEntry(DocumentType.IDEA, "01-idea/idea.md", "# Idea [draft]\n", 1)],
    )
    assert "1. [Idea \\[draft\\]](01-idea/idea.md) (version 1)" in readme


HOSTILE_CONTENT = {
    "unclosed strong": "__a " * 125_000,
    "unclosed emphasis": "*a **b *c " * 50_000,
    "unclosed comments": "<!--" * 125_000,
    "brackets": "[" * 500_000,
    "heading with a long gap": "# a" + " " * 499_990 + "b #",
}


@pytest.mark.parametrize("content", HOSTILE_CONTENT.values(), ids=HOSTILE_CONTENT.keys())
def test_a_hostile_document_is_summarised_in_bounded_time(content: str) -> None:
    started = time.perf_counter()
    document_title(content)
    document_summary(content)
    assert time.perf_counter() - started <= 2.0


def test_an_unclosed_comment_hides_the_rest_and_a_closed_one_only_itself() -> None:
    assert document_summary("Kept <!-- gone --> text. <!-- open") == "Kept text."
