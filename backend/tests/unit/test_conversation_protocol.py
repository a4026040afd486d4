"""The protocol's table, one transition at a time, with in-memory fakes (no database, no model
server): what each first step does and which step it hands over to."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID, uuid4

import pytest

from app.conversation.editing import Edit, apply_edits, section_texts
from app.conversation.effects import (
    Carry,
    CompleteStage,
    CorrectLanguage,
    Document,
    GiveFloor,
    IntegrateVersion,
    OpenProject,
    OpenStage,
    Outcome,
    OutputT,
    PostNotice,
    PostSection,
    PropagateVersion,
    Snapshot,
    UserMessage,
)
from app.conversation.protocol import (
    TRANSITIONS,
    Input,
    Phase,
    ProtocolError,
    Step,
    classify,
    first_step,
    next_expert,
)
from app.conversation.questions import OpenOption, OpenQuestion
from app.conversation.roster import AgentSpec
from app.conversation.steps import MAX_CONFLICTS, STEPS, StepContext
from app.core.config import LLMCallKind
from app.documents.tracing.items import Node
from app.documents.tracing.service import Propagation, StaleSection
from app.projects.stages import DocumentType

QUESTIONS = (
    OpenQuestion(
        number=1,
        text="Who?",
        options=[OpenOption(letter="a", text="Bakers"), OpenOption(letter="b", text="Buyers")],
        recommended="b",
    ),
    OpenQuestion(
        number=2,
        text="How?",
        options=[OpenOption(letter="a", text="Subscription"), OpenOption(letter="b", text="Fee")],
        recommended=None,
    ),
)
IDEA_V1 = "# Idea\n\n<!-- section:summary -->\n\nBread at night.\n"


def snapshot(phase: Phase, **changes: Any) -> Snapshot:
    values: dict[str, Any] = {
        "phase": phase,
        "stage": DocumentType.IDEA,
        "language": "en",
        "floor": None,
        "questions": (),
        "questions_message_id": None,
        "spoken": (),
        "turns": 0,
        "stage_written": False,
    }
    if phase is Phase.AWAITING_IDEA:
        values["language"] = None
    if phase is Phase.AWAITING_ANSWERS:
        values.update(floor="business_analyst", questions=QUESTIONS, questions_message_id=uuid4())
    if phase is Phase.STAGE_COMPLETED:
        values["stage_written"] = True
    values.update(changes)
    return Snapshot(**values)


@dataclass
class FakeReader:
    message: str = "1.b"
    documents: dict[tuple[DocumentType, int], str] = field(
        default_factory=lambda: {(DocumentType.IDEA, 1): IDEA_V1}
    )
    texts: dict[UUID, str] = field(default_factory=dict)
    message_id: UUID = field(default_factory=uuid4)
    stale: list[Propagation] = field(default_factory=list)

    async def snapshot(self) -> Snapshot:
        raise AssertionError("steps get their snapshot from the context")

    async def user_message(self) -> UserMessage:
        return UserMessage(self.message_id, self.message)

    async def latest(self, stage: DocumentType) -> Document | None:
        versions = [number for (kind, number) in self.documents if kind is stage]
        if not versions:
            return None
        return Document(max(versions), self.documents[(stage, max(versions))])

    async def version(self, stage: DocumentType, number: int) -> Document:
        return Document(number, self.documents[(stage, number)])

    async def message_text(self, message_id: UUID) -> str:
        return self.texts[message_id]

    async def earlier_documents(self, stage: DocumentType) -> str:
        return "(none)"

    async def history(self, expert: AgentSpec) -> str:
        return "(none)"

    async def memory(self, query: str, *, exclude: DocumentType) -> str:
        return "(nothing yet)"

    async def trace_gaps(self, stage: DocumentType) -> str:
        return "(none)"

    async def propagation(self, skip: Sequence[DocumentType]) -> Propagation | None:
        waiting = [brief for brief in self.stale if brief.document_type not in skip]
        return waiting[0] if waiting else None

    async def stale_items(self) -> list[str]:
        return [node.id for brief in self.stale for part in brief.sections for node in part.items]


@dataclass
class FakeModels:
    """Answers each output type with a value from ``answers`` (by the type's name)."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    section: str = "## Problem\n\n<!-- section:problem -->\n\nNight bakeries need buyers."
    calls: list[str] = field(default_factory=list)

    def _answer(self, output_type: type[OutputT]) -> OutputT:
        name = output_type.__name__
        self.calls.append(name)
        defaults: dict[str, dict[str, Any]] = {
            "ExpertQuestions": {"questions": [{"text": "Q?", "options": ["x", "y"]}]},
            "Integration": {"edits": [], "summary": "added", "stage_covered": False},
            "Intent": {"kind": "other", "expert": None, "reply": "Happy to help."},
            "StageClosing": {"message": "Done; next comes the specs."},
            "Propagation": {"sections": [{"section": "components", "content": "## C\n\n- x"}]},
            "Opening": {"language": "ru", "greeting": "Привет", "restructured_idea": IDEA_V1},
        }
        return output_type.model_validate(self.answers.get(name, defaults[name]))

    async def generate(
        self,
        agent: AgentSpec,
        language: str | None,
        prompt: str,
        output_type: type[OutputT],
        *,
        kind: LLMCallKind,
    ) -> OutputT:
        return self._answer(output_type)

    async def stream_section(self, agent: AgentSpec, language: str, prompt: str) -> str:
        self.calls.append("section")
        return self.section

    async def stream_opening(
        self, language: str | None, prompt: str, output_type: type[OutputT]
    ) -> OutputT:
        return self._answer(output_type)


async def run_step(
    step: Step,
    state: Snapshot,
    carry: Carry | None = None,
    reader: FakeReader | None = None,
    models: FakeModels | None = None,
    max_turns: int = 8,
) -> Outcome:
    context = StepContext(
        state, carry or Carry(), reader or FakeReader(), models or FakeModels(), max_turns
    )
    return await STEPS[step](context)


def kinds(outcome: Outcome) -> list[type]:
    return [type(effect) for effect in outcome.effects]


# --- every transition of the table ------------------------------------------------------------

EXPECTED: dict[tuple[Phase, Input], tuple[Step, list[type], Step]] = {
    (Phase.AWAITING_IDEA, Input.IDEA): (Step.OPEN_PROJECT, [OpenProject], Step.ASK),
    (Phase.AWAITING_FLOOR, Input.STAGE_START): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.AWAITING_FLOOR, Input.ADDRESS): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.AWAITING_FLOOR, Input.SATISFIED): (Step.CLOSE_STAGE, [CompleteStage], Step.DONE),
    (Phase.AWAITING_FLOOR, Input.NEXT): (
        Step.CLOSE_STAGE,
        [CompleteStage],
        Step.OPEN_NEXT_STAGE,
    ),
    (Phase.AWAITING_FLOOR, Input.ANSWERS): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.AWAITING_FLOOR, Input.ACCEPT): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.AWAITING_FLOOR, Input.OTHER): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.AWAITING_ANSWERS, Input.STAGE_START): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.AWAITING_ANSWERS, Input.ANSWERS): (
        Step.WRITE_SECTION,
        [PostSection],
        Step.INTEGRATE,
    ),
    (Phase.AWAITING_ANSWERS, Input.ACCEPT): (Step.WRITE_SECTION, [PostSection], Step.INTEGRATE),
    (Phase.AWAITING_ANSWERS, Input.INVALID_REFERENCE): (Step.REFUSE, [PostNotice], Step.DONE),
    (Phase.AWAITING_ANSWERS, Input.ADDRESS): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.AWAITING_ANSWERS, Input.SATISFIED): (
        Step.CLOSE_STAGE,
        [CompleteStage],
        Step.DONE,
    ),
    (Phase.AWAITING_ANSWERS, Input.NEXT): (
        Step.CLOSE_STAGE,
        [CompleteStage],
        Step.OPEN_NEXT_STAGE,
    ),
    (Phase.AWAITING_ANSWERS, Input.OTHER): (Step.REPLY, [PostNotice], Step.DONE),
    (Phase.STAGE_COMPLETED, Input.STAGE_START): (Step.ASK, [GiveFloor], Step.DONE),
    (Phase.STAGE_COMPLETED, Input.NEXT): (Step.OPEN_NEXT_STAGE, [OpenStage], Step.ASK),
    (Phase.STAGE_COMPLETED, Input.SATISFIED): (Step.REPLY, [PostNotice], Step.DONE),
    (Phase.STAGE_COMPLETED, Input.ADDRESS): (Step.REPLY, [PostNotice], Step.DONE),
    (Phase.STAGE_COMPLETED, Input.ANSWERS): (Step.REPLY, [PostNotice], Step.DONE),
    (Phase.STAGE_COMPLETED, Input.ACCEPT): (Step.REPLY, [PostNotice], Step.DONE),
    (Phase.STAGE_COMPLETED, Input.OTHER): (Step.REPLY, [PostNotice], Step.DONE),
    **{
        (phase, Input.LANGUAGE): (Step.SET_LANGUAGE, [CorrectLanguage], Step.DONE)
        for phase in Phase
    },
    # Nothing is stale in these fakes: the update says so and ends.
    **{(phase, Input.UPDATE): (Step.PROPAGATE, [PostNotice], Step.DONE) for phase in Phase},
}


def test_every_transition_of_the_table_is_specified_here() -> None:
    assert set(EXPECTED) == set(TRANSITIONS)


@pytest.mark.parametrize(
    ("phase", "given"), list(EXPECTED), ids=[f"{p.value}-{i.value}" for p, i in EXPECTED]
)
async def test_transition(phase: Phase, given: Input) -> None:
    step, effects, after = EXPECTED[(phase, given)]
    assert first_step(phase, given) is step
    # A stage in progress that has a version written in it, so a close can go through.
    state = snapshot(phase, stage_written=phase is not Phase.AWAITING_IDEA)
    carry = Carry(input=given, expert="venture_expert" if given is Input.ADDRESS else None)
    if given is Input.ANSWERS:
        carry = carry.model_copy(update={"selections": {1: ["a"]}, "free_text": "fast"})
    if given is Input.OTHER:
        carry = carry.model_copy(update={"reply": "Happy to help."})
    if given is Input.LANGUAGE:
        carry = carry.model_copy(update={"language": "ru"})
    reader = FakeReader(message="1.e, 7.a" if given is Input.INVALID_REFERENCE else "1.b")
    models = FakeModels()
    outcome = await run_step(step, state, carry, reader, models)
    assert kinds(outcome) == effects
    assert outcome.next is after


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize(
    ("text", "code"),
    [("/language ru", "ru"), ("  /LANG De ", "de"), ("/язык en", "en"), ("/language xx", "xx")],
)
def test_the_language_command_is_read_by_code_in_every_phase(
    phase: Phase, text: str, code: str
) -> None:
    placed = classify(text, phase, (), DocumentType.IDEA)
    assert (placed.input, placed.language) == (Input.LANGUAGE, code)


def test_a_sentence_about_language_is_not_the_command() -> None:
    placed = classify(
        "/language of the app should be ru", Phase.AWAITING_FLOOR, (), DocumentType.IDEA
    )
    assert placed.input is Input.FREE_TEXT


def test_free_text_goes_to_the_model_first_and_a_missing_pair_is_a_bug() -> None:
    assert first_step(Phase.AWAITING_ANSWERS, Input.FREE_TEXT) is Step.CLASSIFY
    with pytest.raises(ProtocolError):
        first_step(Phase.AWAITING_IDEA, Input.ANSWERS)


# --- what the steps decide --------------------------------------------------------------------


async def test_the_first_message_is_one_call_that_writes_everything_at_once() -> None:
    models = FakeModels()
    outcome = await run_step(Step.OPEN_PROJECT, snapshot(Phase.AWAITING_IDEA), models=models)
    [effect] = outcome.effects
    assert isinstance(effect, OpenProject)
    assert (effect.language, effect.greeting, effect.idea) == ("ru", "Привет", IDEA_V1)
    assert models.calls == ["Opening"]


async def test_an_invalid_reference_is_refused_without_a_model_call() -> None:
    models = FakeModels()
    reader = FakeReader(message="1.e, 7.a")
    state = snapshot(Phase.AWAITING_ANSWERS)
    outcome = await run_step(Step.REFUSE, state, reader=reader, models=models)
    [notice] = outcome.effects
    assert isinstance(notice, PostNotice)
    assert notice.error
    assert "question 1 has no option 'e'" in notice.content
    assert "question 7 does not exist" in notice.content
    assert notice.payload["valid"] == "1: a, b; 2: a, b"
    assert models.calls == []


async def test_accepting_takes_the_recommended_options() -> None:
    outcome = await run_step(
        Step.WRITE_SECTION, snapshot(Phase.AWAITING_ANSWERS), Carry(input=Input.ACCEPT)
    )
    [section] = outcome.effects
    assert isinstance(section, PostSection)
    assert section.selections == {1: ["b"]}
    assert outcome.carry is not None
    assert outcome.carry.based_on_version == 1


async def test_a_stage_without_a_version_written_in_it_is_not_closed() -> None:
    state = snapshot(Phase.AWAITING_ANSWERS, stage_written=False)
    models = FakeModels()
    outcome = await run_step(Step.CLOSE_STAGE, state, Carry(input=Input.SATISFIED), models=models)
    assert outcome.effects == ()
    assert outcome.next is Step.ASK
    assert models.calls == []


async def test_closing_says_what_the_document_holds_and_what_comes_next() -> None:
    state = snapshot(Phase.AWAITING_FLOOR, stage_written=True)
    outcome = await run_step(Step.CLOSE_STAGE, state, Carry(input=Input.SATISFIED))
    [closing] = outcome.effects
    assert isinstance(closing, CompleteStage)
    assert closing.payload == {
        "document_type": "idea",
        "version": 1,
        "sections": ["Idea"],
        "next_stage": "specs",
    }


async def test_next_after_the_last_stage_says_everything_is_written() -> None:
    state = snapshot(Phase.STAGE_COMPLETED, stage=DocumentType.PLAN)
    outcome = await run_step(Step.OPEN_NEXT_STAGE, state, Carry(input=Input.NEXT))
    [notice] = outcome.effects
    assert isinstance(notice, PostNotice)
    assert "All four documents" in notice.content
    assert outcome.next is Step.DONE


async def test_a_completed_stage_answers_with_what_comes_next_without_a_model() -> None:
    models = FakeModels()
    state = snapshot(Phase.STAGE_COMPLETED, language="ru")
    outcome = await run_step(Step.REPLY, state, Carry(input=Input.SATISFIED), models=models)
    [notice] = outcome.effects
    assert isinstance(notice, PostNotice)
    assert "«Спецификации»" in notice.content
    assert notice.payload == {"notice_language": "ru"}
    assert models.calls == []


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("answers", Step.WRITE_SECTION),
        ("satisfied", Step.CLOSE_STAGE),
        ("accept_recommendations", Step.WRITE_SECTION),
        ("next_stage", Step.CLOSE_STAGE),
        ("other", Step.REPLY),
    ],
)
async def test_the_models_classification_picks_the_transition(kind: str, expected: Step) -> None:
    models = FakeModels(answers={"Intent": {"kind": kind, "expert": None, "reply": "Sure."}})
    outcome = await run_step(Step.CLASSIFY, snapshot(Phase.AWAITING_ANSWERS), models=models)
    assert outcome.next is expected
    assert outcome.carry is not None
    assert outcome.carry.reply == "Sure."


async def test_a_free_text_answer_outside_open_questions_is_not_an_answer() -> None:
    models = FakeModels(answers={"Intent": {"kind": "answers", "expert": None, "reply": "Ok."}})
    outcome = await run_step(Step.CLASSIFY, snapshot(Phase.STAGE_COMPLETED), models=models)
    assert outcome.next is Step.REPLY


async def test_addressing_an_expert_through_the_model_gives_them_the_floor() -> None:
    answer = {"kind": "address_expert", "expert": "triz_expert", "reply": "Ok."}
    models = FakeModels(answers={"Intent": answer})
    outcome = await run_step(Step.CLASSIFY, snapshot(Phase.AWAITING_ANSWERS), models=models)
    assert outcome.next is Step.ASK
    assert outcome.carry is not None
    following = await run_step(Step.ASK, snapshot(Phase.AWAITING_ANSWERS), outcome.carry)
    [floor] = following.effects
    assert isinstance(floor, GiveFloor)
    assert floor.expert.name.value == "triz_expert"


def _integrating(turns: int = 0, **reader_changes: Any) -> tuple[Snapshot, Carry, FakeReader]:
    section_id = uuid4()
    reader = FakeReader(texts={section_id: FakeModels().section}, **reader_changes)
    carry = Carry(
        input=Input.ANSWERS,
        expert="business_analyst",
        section_message_id=section_id,
        based_on_version=1,
    )
    return snapshot(Phase.AWAITING_ANSWERS, turns=turns), carry, reader


async def test_integration_writes_on_the_version_the_section_was_written_against() -> None:
    state, carry, reader = _integrating()
    outcome = await run_step(Step.INTEGRATE, state, carry, reader)
    [version] = outcome.effects
    assert isinstance(version, IntegrateVersion)
    assert version.expected_version == 1
    # No edits from the model: the expert's section is integrated by code, the rest kept.
    assert version.content.startswith(IDEA_V1.rstrip("\n"))
    assert "<!-- section:problem -->" in version.content
    assert outcome.next is Step.ASK


async def test_covered_or_the_turn_bound_closes_the_stage() -> None:
    state, carry, reader = _integrating()
    covered = FakeModels(
        answers={"Integration": {"edits": [], "summary": "s", "stage_covered": True}}
    )
    assert (await run_step(Step.INTEGRATE, state, carry, reader, covered)).next is Step.CLOSE_STAGE
    state, carry, reader = _integrating(turns=7)
    assert (await run_step(Step.INTEGRATE, state, carry, reader)).next is Step.CLOSE_STAGE


async def test_a_concurrent_edit_of_other_sections_is_kept() -> None:
    edited = IDEA_V1 + "\n## Market\n\n<!-- section:market -->\n\nBy hand.\n"
    state, carry, reader = _integrating()
    reader.documents[(DocumentType.IDEA, 2)] = edited
    outcome = await run_step(Step.INTEGRATE, state, carry, reader)
    [version] = outcome.effects
    assert isinstance(version, IntegrateVersion)
    assert version.expected_version == 2
    assert "By hand." in version.content
    assert "<!-- section:problem -->" in version.content


async def test_a_concurrent_edit_of_the_same_section_is_integrated_again_then_given_up() -> None:
    by_hand = IDEA_V1 + "\n## Problem\n\n<!-- section:problem -->\n\nBy hand.\n"
    state, carry, reader = _integrating()
    reader.documents[(DocumentType.IDEA, 2)] = by_hand
    models = FakeModels()
    first = await run_step(Step.INTEGRATE, state, carry, reader, models)
    assert first.effects == ()
    assert first.next is Step.INTEGRATE
    assert first.carry is not None
    assert (first.carry.based_on_version, first.carry.conflicts) == (2, 1)
    again = await run_step(Step.INTEGRATE, state, first.carry, reader, models)
    [version] = again.effects
    assert isinstance(version, IntegrateVersion)
    assert version.expected_version == 2
    assert models.calls == ["Integration", "Integration"]
    exhausted = replace(state)
    stale = first.carry.model_copy(update={"based_on_version": 1, "conflicts": MAX_CONFLICTS})
    given_up = await run_step(Step.INTEGRATE, exhausted, stale, reader, models)
    [notice] = given_up.effects
    assert isinstance(notice, PostNotice)
    assert notice.error
    assert given_up.next is Step.DONE


# --- deterministic classification -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.a, 2.a — главное доверие", Input.ANSWERS),
        ("1.b", Input.ANSWERS),
        ("ok", Input.ACCEPT),
        ("ок", Input.ACCEPT),
        ("+", Input.ACCEPT),
        ("@venture_expert what about the market?", Input.ADDRESS),
        ("дальше", Input.NEXT),
        ("Next!", Input.NEXT),
        ("looks good", Input.SATISFIED),
        ("1.e", Input.INVALID_REFERENCE),
        ("3.a", Input.INVALID_REFERENCE),
        ("не устраивает", Input.FREE_TEXT),
        ("Buyers, mostly at night", Input.FREE_TEXT),
        ("@nobody hello", Input.FREE_TEXT),
    ],
)
def test_code_places_what_it_can(text: str, expected: Input) -> None:
    placed = classify(text, Phase.AWAITING_ANSWERS, QUESTIONS, DocumentType.IDEA)
    assert placed.input is expected


def test_a_reply_that_parses_as_answers_keeps_its_words() -> None:
    placed = classify(
        "1.a, 2.b — главное доверие", Phase.AWAITING_ANSWERS, QUESTIONS, DocumentType.IDEA
    )
    assert placed.selections == {1: ["a"], 2: ["b"]}
    assert placed.free_text == "главное доверие"


def test_the_first_message_is_always_the_idea() -> None:
    placed = classify("1.a ok дальше", Phase.AWAITING_IDEA, (), DocumentType.IDEA)
    assert placed.input is Input.IDEA


def test_selections_without_open_questions_are_free_text() -> None:
    placed = classify("1.a", Phase.AWAITING_FLOOR, (), DocumentType.IDEA)
    assert placed.input is Input.FREE_TEXT


def test_the_next_expert_is_chosen_in_code() -> None:
    stage = DocumentType.IDEA
    assert next_expert(stage, ()).name.value == "business_analyst"
    assert next_expert(stage, ("business_analyst",)).name.value == "venture_expert"
    assert next_expert(stage, (), holding="business_analyst").name.value == "venture_expert"
    assert next_expert(stage, (), requested="triz_expert").name.value == "triz_expert"
    everyone = ("business_analyst", "venture_expert", "triz_expert", "design_thinker")
    assert next_expert(stage, (*everyone, "system_analyst")).name.value == "business_analyst"
    with pytest.raises(ProtocolError):
        next_expert(stage, (), requested="qa_expert")


def test_accepting_a_section_copies_the_experts_text_without_the_model_repeating_it() -> None:
    section = "## Problem\n\n<!-- section:problem -->\n\nNight bakeries need buyers.\n"
    document = IDEA_V1 + "\n## Market\n\n<!-- section:market -->\n\nKept as is.\n"
    merged = apply_edits(
        document,
        [Edit("accept", "problem", None)],
        DocumentType.IDEA,
        expert_section=section,
        expert_keys=("problem", "audience"),
    )
    assert "Night bakeries need buyers." in merged
    assert merged.index("section:problem") < merged.index("section:market")
    assert merged.endswith("## Market\n\n<!-- section:market -->\n\nKept as is.\n")
    assert merged.startswith(IDEA_V1)


ARCHITECTURE = (
    "# Architecture\n\n## Stack\n\n<!-- section:stack -->\n\n- **C-1** Python → R-1\n\n"
    "## Components\n\n<!-- section:components -->\n\n- **C-2** Order service → R-1\n\n"
    "## CI/CD\n\n<!-- section:ci_cd -->\n\n- **C-3** GitHub Actions\n"
)


async def test_an_update_rewrites_only_the_stale_sections_and_goes_on_to_the_next() -> None:
    stale_c2 = Node("C-2", "components", "Order service", ("R-1",))
    brief = Propagation(
        document_type=DocumentType.ARCHITECTURE,
        version=3,
        sections=(StaleSection("components", (stale_c2,)),),
        changes={"R-1": "Orders confirm within 200 ms"},
        causes=("specs v5",),
    )
    reader = FakeReader(documents={(DocumentType.ARCHITECTURE, 3): ARCHITECTURE}, stale=[brief])
    rewrite = "## Components\n\n- **C-2** Order service, tuned for 200 ms → R-1"
    models = FakeModels(
        answers={
            "Propagation": {
                "sections": [
                    {"section": "components", "content": rewrite},
                    # Not asked for: ignored.
                    {"section": "stack", "content": "## Stack\n\n- **C-1** Rust"},
                ]
            }
        }
    )
    outcome = await run_step(
        Step.PROPAGATE, snapshot(Phase.STAGE_COMPLETED), Carry(), reader, models
    )
    [effect] = outcome.effects
    assert isinstance(effect, PropagateVersion)
    assert (effect.stage, effect.expected_version) == (DocumentType.ARCHITECTURE, 3)
    assert effect.reason == "propagated from specs v5: R-1 changed"
    before, after = section_texts(ARCHITECTURE), section_texts(effect.content)
    assert [key for key in before if before[key] != after[key]] == ["components"]
    assert "tuned for 200 ms" in after["components"]
    assert effect.answers == ("C-2",)
    assert outcome.next is Step.PROPAGATE
    # The store records the version written (and the document dealt with) when it applies it.
    assert outcome.carry is None

    reader.stale = []  # as once the version was applied
    applied = Carry(propagated=["architecture v4"], visited=[DocumentType.ARCHITECTURE])
    done = await run_step(Step.PROPAGATE, snapshot(Phase.STAGE_COMPLETED), applied, reader, models)
    [notice] = done.effects
    assert isinstance(notice, PostNotice)
    assert notice.payload["code"] == "trace_updated"
    assert "architecture v4" in notice.content
    assert done.next is Step.DONE


async def test_an_update_the_model_gives_nothing_usable_for_leaves_it_stale_and_says_so() -> None:
    stale = Node("C-2", "components", "Order service", ("R-1",))
    brief = Propagation(
        document_type=DocumentType.ARCHITECTURE,
        version=3,
        sections=(StaleSection("components", (stale,)),),
        changes={"R-1": None},
        causes=("specs v5",),
    )
    reader = FakeReader(documents={(DocumentType.ARCHITECTURE, 3): ARCHITECTURE}, stale=[brief])
    # Only a section nobody asked for: nothing to write.
    answer = {"sections": [{"section": "stack", "content": "## Stack\n\n- **C-1** Rust"}]}
    models = FakeModels(answers={"Propagation": answer})
    state = snapshot(Phase.AWAITING_FLOOR)
    skipped = await run_step(Step.PROPAGATE, state, Carry(), reader, models)
    assert skipped.effects == ()
    assert skipped.next is Step.PROPAGATE
    assert skipped.carry is not None
    assert skipped.carry.visited == [DocumentType.ARCHITECTURE]
    done = await run_step(Step.PROPAGATE, state, skipped.carry, reader, models)
    [notice] = done.effects
    assert isinstance(notice, PostNotice)
    assert (notice.payload["code"], notice.payload["stale"]) == ("trace_still_stale", ["C-2"])
    assert "C-2" in notice.content
    assert done.next is Step.DONE


@pytest.mark.parametrize("text", ["/update", "update", "Обнови!", " /UPDATE "])
def test_the_update_command_is_read_by_code_in_every_phase(text: str) -> None:
    for phase in Phase:
        assert classify(text, phase, QUESTIONS, DocumentType.SPECS).input is Input.UPDATE
