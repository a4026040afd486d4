import pytest

from app.documents.sections import (
    REQUIRED_SECTIONS,
    SECTION_KEY_PATTERN,
    SectionSpec,
    present_section_keys,
    section_marker,
)
from app.projects.stages import STAGE_ORDER, DocumentType


def test_every_document_type_expects_sections() -> None:
    assert set(REQUIRED_SECTIONS) == set(DocumentType)
    for document_type in STAGE_ORDER:
        assert len(REQUIRED_SECTIONS[document_type]) >= 5


@pytest.mark.parametrize("document_type", list(DocumentType))
def test_section_keys_are_unique_lower_snake_case_and_titled(
    document_type: DocumentType,
) -> None:
    specs = REQUIRED_SECTIONS[document_type]
    keys = [spec.key for spec in specs]
    assert len(keys) == len(set(keys))
    for spec in specs:
        assert SECTION_KEY_PATTERN.fullmatch(spec.key), spec.key
        assert spec.title.strip() == spec.title
        assert spec.title


@pytest.mark.parametrize(
    ("document_type", "owned_by_experts"),
    [
        (DocumentType.IDEA, {"goals_kpis", "market", "contradictions", "user_journeys"}),
        (DocumentType.SPECS, {"definition_of_done", "test_strategy", "data_protection"}),
        (DocumentType.ARCHITECTURE, {"components", "ci_cd", "bottlenecks"}),
        (DocumentType.PLAN, {"milestones", "ceremonies", "mitigations"}),
    ],
)
def test_each_stage_expert_has_a_section_to_own(
    document_type: DocumentType, owned_by_experts: set[str]
) -> None:
    keys = {spec.key for spec in REQUIRED_SECTIONS[document_type]}
    assert owned_by_experts <= keys


def test_the_checklist_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        REQUIRED_SECTIONS[DocumentType.IDEA] = ()  # type: ignore[index]
    with pytest.raises(AttributeError):
        REQUIRED_SECTIONS[DocumentType.IDEA][0].key = "other"  # type: ignore[misc]


def test_section_marker_is_an_html_comment_with_the_key() -> None:
    assert section_marker("goals_kpis") == "<!-- section:goals_kpis -->"


@pytest.mark.parametrize("key", ["", "Goals", "goals-kpis", "1st", "a b", "x -->", "_x", "x__y"])
def test_section_marker_refuses_what_is_not_a_key(key: str) -> None:
    with pytest.raises(ValueError, match="not a section key"):
        section_marker(key)


def test_every_marker_round_trips_through_a_document() -> None:
    for specs in REQUIRED_SECTIONS.values():
        document = "\n\n".join(
            f"## {spec.title}\n{section_marker(spec.key)}\n\nText." for spec in specs
        )
        assert present_section_keys(document) == {spec.key for spec in specs}


def test_markers_tolerate_white_space_and_case_of_the_word_section() -> None:
    document = (
        "## Проблема\n<!--section:problem-->\n"
        "## Аудитория\n<!--   Section :  audience   -->\n"
        "## Цели\n<!--\tsection:\tgoals_kpis\n-->\n"
    )
    assert present_section_keys(document) == {"problem", "audience", "goals_kpis"}


def test_markers_of_keys_nobody_expects_are_reported_too() -> None:
    assert present_section_keys("<!-- section:appendix -->") == {"appendix"}


def test_comments_that_are_not_markers_are_ignored() -> None:
    document = "<!-- problem -->\n<!-- section: -->\n<!-- sections:problem -->\nsection:audience"
    assert present_section_keys(document) == set()


def test_section_spec_is_a_plain_value() -> None:
    assert SectionSpec("stack", "Technology stack") == SectionSpec("stack", "Technology stack")
