import itertools

import pytest

from app.memory.text import chunk_markdown, content_hash, normalise

MAX = 300
OVERLAP = 60


def chunks_of(text: str, max_chars: int = MAX, overlap: int = OVERLAP) -> list[str]:
    return [
        chunk.text for chunk in chunk_markdown(text, max_chars=max_chars, overlap_chars=overlap)
    ]


def test_normalise_unifies_newlines_spaces_and_compatibility_forms() -> None:
    raw = (
        "\ufeffTitle\r\n\r\n\r\n\r\nﬁrst  line\t with   gaps   \r\nsecond\u00a0line\u200b\x07\n\n\n"
    )
    assert normalise(raw) == "Title\n\nfirst line with gaps\nsecond line"


def test_normalise_keeps_indentation_and_drops_html_comments() -> None:
    raw = (
        "- item\n    - nested   item\n<!-- section:problem -->\nText <!-- note\nover lines --> end"
    )
    assert normalise(raw) == "- item\n    - nested item\n\nText end"


def test_equal_text_after_normalisation_has_equal_hash() -> None:
    assert content_hash(normalise("a  b\r\n")) == content_hash(normalise("a b"))


def test_each_chunk_carries_the_trail_of_headings_above_it() -> None:
    chunks = chunk_markdown(
        "Preamble.\n\n# Idea\n\nThe idea.\n\n## Audience\n\nStudents.\n\n# Risks\n\nFew.",
        max_chars=MAX,
        overlap_chars=OVERLAP,
    )
    assert [(chunk.heading, chunk.text) for chunk in chunks] == [
        (None, "Preamble."),
        ("Idea", "Idea\n\nThe idea."),
        ("Idea > Audience", "Idea > Audience\n\nStudents."),
        ("Risks", "Risks\n\nFew."),
    ]


def test_a_heading_without_text_makes_no_chunk_but_stays_in_the_trail() -> None:
    text = "# Plan\n\n## Phase 1 ##\n\n### Tasks\n\nWrite tests.\n\n#\n\nAfter an empty heading."
    assert chunks_of(text) == [
        "Plan > Phase 1 > Tasks\n\nWrite tests.",
        "After an empty heading.",
    ]


def test_hashes_in_code_blocks_are_not_headings() -> None:
    text = "# Deploy\n\n```bash\n# install\n\nmake install\n```\n\n~~~\n## still code\n~~~"
    assert chunks_of(text) == [
        "Deploy\n\n```bash\n# install\n\nmake install\n```\n\n~~~\n## still code\n~~~"
    ]


def test_a_long_section_is_split_within_the_budget_with_overlap() -> None:
    sentences = [f"Sentence number {index} says something about storage." for index in range(30)]
    chunks = chunks_of("# Storage\n\n" + " ".join(sentences))
    assert len(chunks) > 3
    assert all(len(chunk) <= MAX for chunk in chunks)
    assert all(chunk.startswith("Storage\n\n") for chunk in chunks)
    for previous, current in itertools.pairwise(chunks):
        body = current.removeprefix("Storage\n\n")
        # The next chunk begins with words that ended the previous one.
        assert body[:20] in previous
    # Nothing is lost: every sentence is in some chunk, whole.
    assert all(any(sentence in chunk for chunk in chunks) for sentence in sentences)


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    first, second = "A" * 150 + ".", "B" * 150 + "."
    chunks = chunks_of(f"{first}\n\n{second}", overlap=0)
    assert chunks == [first, second]


def test_a_word_longer_than_a_chunk_is_cut() -> None:
    word = "".join(f"{index:04d}" for index in range(175))
    chunks = chunks_of(word, overlap=0)
    assert "".join(chunks) == word
    assert [len(chunk) for chunk in chunks] == [300, 300, 100]


def test_long_lines_split_at_lines_first() -> None:
    lines = [f"- item {index}: " + "detail " * 10 for index in range(12)]
    chunks = chunks_of("\n".join(line.rstrip() for line in lines), overlap=0)
    assert all(chunk.startswith("- item") for chunk in chunks)
    assert sum(chunk.count("- item") for chunk in chunks) == 12


def test_a_very_long_heading_trail_is_shortened_from_the_left() -> None:
    text = "# " + "Long title " * 20 + "\n\n## Nearest\n\nBody."
    [chunk] = chunk_markdown(text, max_chars=MAX, overlap_chars=OVERLAP)
    assert chunk.heading is not None
    assert chunk.heading.startswith("…")
    assert chunk.heading.endswith("> Nearest")
    assert len(chunk.heading) <= MAX // 4
    assert len(chunk.text) <= MAX


def test_repeated_chunks_are_kept_once() -> None:
    text = "Same paragraph.\n\n# A\n\nOther.\n\n# B\n\nOther."
    assert chunks_of("Same paragraph.\n\nSame paragraph.") == ["Same paragraph.\n\nSame paragraph."]
    assert len(chunks_of(text)) == 3
    assert len(chunks_of("# A\n\nOther.\n\n# A\n\nOther.")) == 1


def test_empty_text_has_no_chunks() -> None:
    assert chunks_of("  \n\n<!-- section:summary -->\n# Only a heading\n") == []


def test_the_overlap_must_be_less_than_half_a_chunk() -> None:
    with pytest.raises(ValueError, match="half"):
        chunk_markdown("text", max_chars=200, overlap_chars=100)


def test_cyrillic_text_is_chunked_by_its_sentences() -> None:
    sentence = "Пользователь выбирает тариф и оплачивает подписку картой."
    chunks = chunks_of("# Монетизация\n\n" + " ".join([sentence] * 12))
    assert len(chunks) > 1
    assert all(chunk.startswith("Монетизация\n\n") for chunk in chunks)
    assert all(len(chunk) <= MAX for chunk in chunks)
