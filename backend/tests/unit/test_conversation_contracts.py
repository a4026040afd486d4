import importlib.util
import pathlib

import pytest
from pydantic import ValidationError

from app.conversation.contracts import (
    ExpertQuestions,
    FloorAction,
    Intent,
    LanguageDetection,
    floor_decision_for,
)
from app.conversation.prompts import instructions
from app.conversation.roster import EXPERTS, PRODUCT_MANAGER, agent, experts_of
from app.documents.sections import REQUIRED_SECTIONS
from app.llm.constants import AgentName
from app.projects.stages import STAGE_ORDER, DocumentType


def _question(letters: str, recommended: str | None = None) -> dict[str, object]:
    return {
        "text": "Which?",
        "options": [{"letter": letter, "text": f"option {letter}"} for letter in letters],
        "recommended": recommended,
    }


def test_the_roster_has_fourteen_experts_covering_every_section() -> None:
    assert len(EXPERTS) == 14
    assert [len(experts_of(stage)) for stage in STAGE_ORDER] == [5, 3, 3, 3]
    for stage in STAGE_ORDER:
        owned = {key for spec in experts_of(stage) for key in spec.sections}
        expected = {section.key for section in REQUIRED_SECTIONS[stage]}
        assert owned | set(PRODUCT_MANAGER.sections) >= expected, stage
    assert {spec.name for spec in (PRODUCT_MANAGER, *EXPERTS)} == set(AgentName)
    assert agent("qa_expert").stage is DocumentType.SPECS


@pytest.mark.parametrize("spec", [PRODUCT_MANAGER, *EXPERTS], ids=lambda spec: spec.name.value)
def test_every_agent_has_a_prompt_that_fixes_the_language(spec: object) -> None:
    text = instructions(spec, "ru")  # type: ignore[arg-type]
    assert 'ISO 639-1 code "ru"' in text
    assert "$" not in text


@pytest.mark.parametrize("code", ["ru", "EN", " de "])
def test_language_codes_come_from_iso_639_1(code: str) -> None:
    assert LanguageDetection(language=code).language == code.strip().lower()


@pytest.mark.parametrize("code", ["russian", "xx", "rus", ""])
def test_anything_else_is_not_a_language(code: str) -> None:
    with pytest.raises(ValidationError):
        LanguageDetection(language=code)


def test_questions_are_lettered_from_a_without_gaps() -> None:
    ExpertQuestions.model_validate({"questions": [_question("abc", "b")]})
    for bad in (_question("ac"), _question("bcd"), _question("ab", "c"), _question("a")):
        with pytest.raises(ValidationError):
            ExpertQuestions.model_validate({"questions": [bad]})
    with pytest.raises(ValidationError):
        ExpertQuestions.model_validate({"questions": [_question("ab")] * 6})
    with pytest.raises(ValidationError):
        ExpertQuestions.model_validate({"questions": []})


def test_the_floor_goes_only_to_the_stages_experts() -> None:
    decision_type = floor_decision_for(experts_of(DocumentType.SPECS))
    ok = decision_type.model_validate(
        {"action": "give_floor", "agent": "qa_expert", "reason": "tests are thin"}
    )
    assert ok.action is FloorAction.GIVE_FLOOR
    for bad in (
        {"action": "give_floor", "agent": "business_analyst", "reason": "x"},
        {"action": "give_floor", "agent": None, "reason": "x"},
        {"action": "give_floor", "agent": "qa_expert", "reason": ""},
    ):
        with pytest.raises(ValidationError):
            decision_type.model_validate(bad)
    covered = decision_type.model_validate({"action": "stage_covered", "reason": "done"})
    assert covered.action is FloorAction.STAGE_COVERED


def test_addressing_an_expert_names_them() -> None:
    with pytest.raises(ValidationError):
        Intent.model_validate({"kind": "address_expert"})


LANGUAGE_DETECTORS = ("langdetect", "langid", "fasttext", "lingua", "polyglot", "pycld2", "cld3")


def test_no_language_detection_library_is_installed_or_imported() -> None:
    assert [name for name in LANGUAGE_DETECTORS if importlib.util.find_spec(name)] == []
    source = pathlib.Path(__file__).resolve().parents[2] / "src"
    offenders = [
        str(path)
        for path in source.rglob("*.py")
        for name in LANGUAGE_DETECTORS
        if f"import {name}" in path.read_text() or f"from {name}" in path.read_text()
    ]
    assert offenders == []
