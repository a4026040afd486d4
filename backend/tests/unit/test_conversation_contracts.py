import importlib.util
import pathlib
from typing import Any

import pytest
from pydantic import ValidationError

from app.conversation.contracts import ExpertQuestions, Opening, integration_for, intent_for
from app.conversation.prompts import instructions
from app.conversation.questions import from_model
from app.conversation.roster import EXPERTS, PRODUCT_MANAGER, agent, experts_of
from app.documents.sections import REQUIRED_SECTIONS
from app.llm.constants import AgentName
from app.projects.stages import STAGE_ORDER, DocumentType


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


def _opening(language: str) -> dict[str, object]:
    return {"language": language, "greeting": "Hi", "restructured_idea": "# Idea"}


def test_the_language_is_an_iso_639_1_code_in_the_schema_itself() -> None:
    assert Opening.model_validate(_opening("ru")).language == "ru"
    schema = Opening.model_json_schema()
    codes = schema["properties"]["language"]["enum"]
    assert {"en", "ru", "de"} <= set(codes)
    assert len(codes) == len(set(codes)) > 150
    for bad in ("russian", "xx", "rus", "", "RU"):
        with pytest.raises(ValidationError):
            Opening.model_validate(_opening(bad))


def test_questions_are_plain_options_that_the_engine_letters() -> None:
    asked = ExpertQuestions.model_validate(
        {"questions": [{"text": "Which?", "options": ["x", "y", "z"], "recommended": 2}]}
    )
    [question] = from_model(asked)
    assert [(o.letter, o.text) for o in question.options] == [("a", "x"), ("b", "y"), ("c", "z")]
    assert question.recommended == "b"
    schema = ExpertQuestions.model_json_schema()
    assert schema["properties"]["questions"]["maxItems"] == 5
    bad: dict[str, Any]
    for bad in (
        {"questions": []},
        {"questions": [{"text": "Which?", "options": ["only one"]}]},
        {"questions": [{"text": "Which?", "options": ["x", "y"], "recommended": 6}]},
        {"questions": [{"text": "Which?", "options": ["x", "y"]}] * 6},
    ):
        with pytest.raises(ValidationError):
            ExpertQuestions.model_validate(bad)


def test_a_recommendation_of_an_option_that_is_not_there_is_no_recommendation() -> None:
    asked = ExpertQuestions.model_validate(
        {"questions": [{"text": "Which?", "options": ["x", "y"], "recommended": 5}]}
    )
    assert from_model(asked)[0].recommended is None


def test_integration_edits_name_only_the_stages_sections() -> None:
    integration = integration_for(DocumentType.SPECS)
    ok = integration.model_validate(
        {
            "edits": [{"op": "replace", "section": "test_strategy", "content": "## T"}],
            "summary": "s",
            "stage_covered": False,
        }
    )
    assert ok.edits[0].section == "test_strategy"
    schema = integration.model_json_schema()
    assert "test_strategy" in str(schema)
    assert "problem" not in str(schema)
    with pytest.raises(ValidationError):
        integration.model_validate(
            {
                "edits": [{"op": "replace", "section": "problem", "content": "x"}],
                "summary": "s",
                "stage_covered": False,
            }
        )


def test_only_the_stages_experts_can_be_addressed() -> None:
    intent = intent_for(DocumentType.SPECS)
    assert intent.model_validate({"kind": "address_expert", "expert": "qa_expert", "reply": "ok"})
    for bad in (
        {"kind": "address_expert", "expert": "business_analyst", "reply": "ok"},
        {"kind": "other", "expert": None, "reply": ""},
        {"kind": "whatever", "expert": None, "reply": "ok"},
    ):
        with pytest.raises(ValidationError):
            intent.model_validate(bad)


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
