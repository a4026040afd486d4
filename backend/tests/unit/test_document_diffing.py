import difflib
import random

from app.documents.diffing import DiffHunk, DiffLine, WordChange, diff_documents


def lines(*items: str) -> str:
    return "".join(f"{item}\n" for item in items)


def context(text: str, old: int, new: int) -> DiffLine:
    return DiffLine(kind="context", text=text, old_number=old, new_number=new)


def apply(old: str, hunks: list[DiffHunk]) -> list[str]:
    """Rebuild the new version from the old one and the structured hunks alone."""
    source = old.splitlines()
    result: list[str] = []
    position = 0
    for hunk in hunks:
        start = hunk.old_start - 1 if hunk.old_lines else hunk.old_start
        result.extend(source[position:start])
        position = start
        for line in hunk.lines:
            if line.kind == "context":
                assert source[position] == line.text
                result.append(line.text)
                position += 1
            elif line.kind == "removed":
                assert source[position] == line.text
                position += 1
            else:
                result.append(line.text)
    result.extend(source[position:])
    return result


def test_identical_versions_have_no_hunks_and_an_empty_unified_diff() -> None:
    text = lines("# Идея", "", "Текст.")
    diff = diff_documents(text, text, from_label="v1", to_label="v2")
    assert diff.hunks == []
    assert diff.unified == ""
    assert (diff.stats.added, diff.stats.removed) == (0, 0)


def test_line_endings_alone_are_no_change() -> None:
    diff = diff_documents("a\r\nb\r\n", "a\nb", from_label="v1", to_label="v2")
    assert diff.hunks == []
    assert diff.unified == ""


def test_a_changed_line_gets_a_hunk_with_three_lines_of_context() -> None:
    old = lines(*"abcdefghij")
    new = lines(*"abcdEfghij")
    diff = diff_documents(old, new, from_label="v1", to_label="v2")
    assert diff.hunks == [
        DiffHunk(
            old_start=2,
            old_lines=7,
            new_start=2,
            new_lines=7,
            lines=[
                context("b", 2, 2),
                context("c", 3, 3),
                context("d", 4, 4),
                DiffLine(kind="removed", text="e", old_number=5, new_number=None),
                DiffLine(kind="added", text="E", old_number=None, new_number=5),
                context("f", 6, 6),
                context("g", 7, 7),
                context("h", 8, 8),
            ],
        )
    ]
    assert diff.unified == "--- v1\n+++ v2\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
    assert (diff.stats.added, diff.stats.removed) == (1, 1)


def test_the_unified_text_matches_difflib() -> None:
    old = lines("# Plan", "", "## Phases", "", "One.", "", "## Risks", "", "Late.", "", "End.")
    new = lines(
        "# Plan", "", "## Phases", "", "One.", "Two.", "", "## Risks", "", "Soon.", "", "End."
    )
    expected = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile="plan v3",
            tofile="plan v4",
        )
    )
    diff = diff_documents(old, new, from_label="plan v3", to_label="plan v4")
    assert diff.unified == expected
    assert (diff.stats.added, diff.stats.removed) == (2, 1)


def test_changes_far_apart_make_separate_hunks_and_close_ones_share_one() -> None:
    old = lines(*(f"line {n}" for n in range(1, 31)))
    new_lines = [f"line {n}" for n in range(1, 31)]
    new_lines[2] = "changed 3"
    new_lines[8] = "changed 9"  # 5 unchanged lines after line 3: within 2 x 3 of context
    new_lines[25] = "changed 26"
    diff = diff_documents(old, lines(*new_lines), from_label="a", to_label="b")
    assert [(h.old_start, h.old_lines, h.new_start, h.new_lines) for h in diff.hunks] == [
        (1, 12, 1, 12),
        (23, 7, 23, 7),
    ]
    assert "@@ -1,12 +1,12 @@" in diff.unified
    assert "@@ -23,7 +23,7 @@" in diff.unified


def test_adding_to_an_empty_document_starts_at_line_zero_on_the_old_side() -> None:
    diff = diff_documents("", lines("# Idea"), from_label="empty", to_label="v1")
    assert diff.unified == "--- empty\n+++ v1\n@@ -0,0 +1 @@\n+# Idea\n"
    assert diff.hunks == [
        DiffHunk(
            old_start=0,
            old_lines=0,
            new_start=1,
            new_lines=1,
            lines=[DiffLine(kind="added", text="# Idea", old_number=None, new_number=1)],
        )
    ]


def test_removing_the_last_lines() -> None:
    diff = diff_documents(lines("a", "b", "c"), lines("a"), from_label="v1", to_label="v2")
    assert diff.unified == "--- v1\n+++ v2\n@@ -1,3 +1 @@\n a\n-b\n-c\n"
    assert [line.words for line in diff.hunks[0].lines] == [None, None, None]


def test_a_changed_cyrillic_line_marks_its_changed_words() -> None:
    diff = diff_documents(
        lines("Кошка спит на тёплом окне."),
        lines("Кошка спала на тёплом окне!"),
        from_label="v1",
        to_label="v2",
    )
    removed, added = diff.hunks[0].lines
    assert removed.words == [
        WordChange(kind="same", text="Кошка "),
        WordChange(kind="removed", text="спит"),
        WordChange(kind="same", text=" на тёплом окне"),
        WordChange(kind="removed", text="."),
    ]
    assert added.words == [
        WordChange(kind="same", text="Кошка "),
        WordChange(kind="added", text="спала"),
        WordChange(kind="same", text=" на тёплом окне"),
        WordChange(kind="added", text="!"),
    ]


def test_adjacent_changed_words_read_as_one_change() -> None:
    diff = diff_documents(
        lines("We deploy the service on Monday morning after the review."),
        lines("We deploy the service on Friday evening after the review."),
        from_label="v1",
        to_label="v2",
    )
    removed, added = diff.hunks[0].lines
    assert removed.words == [
        WordChange(kind="same", text="We deploy the service on "),
        WordChange(kind="removed", text="Monday morning"),
        WordChange(kind="same", text=" after the review."),
    ]
    assert added.words == [
        WordChange(kind="same", text="We deploy the service on "),
        WordChange(kind="added", text="Friday evening"),
        WordChange(kind="same", text=" after the review."),
    ]


def test_word_marks_join_text_on_both_sides_back_into_the_lines() -> None:
    old_line = "| Redis | кэш, очереди | 7.2 |"
    new_line = "| Valkey | кэш, очереди, события | 8.1 |"
    removed, added = diff_documents(old_line, new_line, from_label="a", to_label="b").hunks[0].lines
    assert removed.words is not None
    assert added.words is not None
    assert "".join(w.text for w in removed.words) == old_line
    assert "".join(w.text for w in added.words) == new_line
    assert {w.kind for w in removed.words} == {"same", "removed"}
    assert {w.kind for w in added.words} == {"same", "added"}


def test_an_unrelated_replacement_gets_no_word_marks() -> None:
    diff = diff_documents(
        lines("The budget is approved."),
        lines("Все риски закрыты до релиза."),
        from_label="v1",
        to_label="v2",
    )
    assert [line.words for line in diff.hunks[0].lines] == [None, None]


def test_reordered_words_are_a_replacement_not_a_change() -> None:
    diff = diff_documents(
        "alpha beta gamma delta", "delta gamma beta alpha", from_label="a", to_label="b"
    )
    assert [line.words for line in diff.hunks[0].lines] == [None, None]


def test_white_space_only_lines_get_no_word_marks() -> None:
    diff = diff_documents(
        lines("a", "  ", "b"), lines("a", "    ", "b"), from_label="a", to_label="b"
    )
    assert [line.words for line in diff.hunks[0].lines if line.kind != "context"] == [None, None]


def test_a_huge_changed_line_gets_no_word_marks() -> None:
    old_line = " ".join(f"word{n}" for n in range(2000))
    new_line = old_line.replace("word1000", "changed")
    diff = diff_documents(old_line, new_line, from_label="a", to_label="b")
    assert [line.words for line in diff.hunks[0].lines] == [None, None]


def test_lines_without_a_counterpart_get_no_word_marks() -> None:
    diff = diff_documents(
        lines("a", "Intro text here.", "z"),
        lines("a", "Intro text there.", "New line.", "z"),
        from_label="v1",
        to_label="v2",
    )
    kinds_and_marks = [(line.kind, line.words is not None) for line in diff.hunks[0].lines]
    assert kinds_and_marks == [
        ("context", False),
        ("removed", True),
        ("added", True),
        ("added", False),
        ("context", False),
    ]


def test_blank_lines_do_not_pull_unchanged_paragraphs_into_a_change() -> None:
    paragraphs = [f"Paragraph {n} says something." for n in range(1, 9)]
    old = "\n\n".join(paragraphs) + "\n"
    edited = list(paragraphs)
    edited[4] = "Paragraph 5 says something else."
    diff = diff_documents(old, "\n\n".join(edited) + "\n", from_label="v1", to_label="v2")
    changed = [line for line in diff.hunks[0].lines if line.kind != "context"]
    assert [(line.kind, line.text) for line in changed] == [
        ("removed", "Paragraph 5 says something."),
        ("added", "Paragraph 5 says something else."),
    ]


def test_hunks_rebuild_the_new_version_from_the_old_one() -> None:
    rng = random.Random(20240601)
    vocabulary = ["", "", "---", "| a | b |", "Text.", "Текст.", "- item", "## Head"]
    for _ in range(300):
        old = [rng.choice(vocabulary) + rng.choice(["", " x", " y"]) for _ in range(30)]
        new = list(old)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(new) + 1)
            action = rng.choice(["insert", "delete", "change"])
            if action == "insert" or not new:
                new.insert(position, rng.choice(vocabulary))
            elif action == "delete":
                del new[min(position, len(new) - 1)]
            else:
                new[min(position, len(new) - 1)] += " edited"
        diff = diff_documents(lines(*old), lines(*new), from_label="a", to_label="b")
        assert apply(lines(*old), diff.hunks) == new
        added = sum(line.kind == "added" for hunk in diff.hunks for line in hunk.lines)
        removed = sum(line.kind == "removed" for hunk in diff.hunks for line in hunk.lines)
        assert (diff.stats.added, diff.stats.removed) == (added, removed)
        unified = diff.unified.splitlines()
        headers = 1 if diff.hunks else 0
        assert sum(line.startswith("+") for line in unified) == added + headers
        assert sum(line.startswith("-") for line in unified) == removed + headers


def test_a_large_document_with_scattered_edits() -> None:
    rng = random.Random(7)
    old = []
    for n in range(2500):
        old += [f"Paragraph {n}: {rng.random()}", ""]
    new = list(old)
    for n in range(0, 5000, 250):
        new[n] += " (edited)"
    diff = diff_documents(lines(*old), lines(*new), from_label="a", to_label="b")
    assert (diff.stats.added, diff.stats.removed) == (20, 20)
    assert len(diff.hunks) == 20
    assert apply(lines(*old), diff.hunks) == new
