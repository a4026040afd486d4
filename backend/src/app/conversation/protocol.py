"""The conversation protocol as a table: (phase, input) → the first step of a run.

A project's conversation is always in one persisted :class:`Phase`. A run (one user message,
or the start of a stage) is turned into one :class:`Input`, by code first (:func:`classify`)
and by the model only for free text code cannot place; the table then names the step the run
begins with, and each step names the one after it (:data:`FOLLOWS`, or its own guard where a
step can go two ways). Every path ends in a step that posts a message the user sees.

Read the table as the protocol:

============================  =============================  =================================
phase                         input                          first step
============================  =============================  =================================
awaiting_idea                 the first message              open_project → ask
awaiting_floor                a stage starts                 ask
awaiting_floor                addressing an expert           ask (that expert)
awaiting_floor                satisfied / next               close_stage (guarded) → …
awaiting_floor                anything else                  ask
awaiting_answers              answers (selections or words)  write_section → integrate → …
awaiting_answers              ok / + / ок                    write_section (recommendations)
awaiting_answers              a reference that is not there  refuse
awaiting_answers              addressing an expert           ask (that expert)
awaiting_answers              satisfied / next               close_stage (guarded) → …
awaiting_answers              anything else                  reply
stage_completed               next                           open_next_stage → ask
stage_completed               a stage starts (re-open)       ask
stage_completed               anything else                  reply
any phase                     ``/language <code>``           set_language
any phase                     ``/update``                    propagate (a document a step)
============================  =============================  =================================

``propagate`` updates the earliest document with stale items and runs again until none is
left, then says what it updated.

``close_stage`` completes a stage only when its document has a version written in that stage;
otherwise the next expert gets the floor. ``integrate`` goes on to ``close_stage`` when the
Product Manager judges the stage covered or the turn bound is reached, else to ``ask``.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.conversation.parser import parse_reply
from app.conversation.questions import OpenQuestion
from app.conversation.roster import AgentSpec, experts_of
from app.projects.stages import STAGE_ORDER, DocumentType


class Phase(StrEnum):
    AWAITING_IDEA = "awaiting_idea"
    """No message yet: the first one is the raw idea."""
    AWAITING_FLOOR = "awaiting_floor"
    """A stage is in progress and nobody holds the floor."""
    AWAITING_ANSWERS = "awaiting_answers"
    """An expert asked questions; the next reply answers them."""
    STAGE_COMPLETED = "stage_completed"
    """The current stage is completed; "next" opens the one after it."""


class Input(StrEnum):
    IDEA = "idea"
    STAGE_START = "stage_start"
    ANSWERS = "answers"
    ACCEPT = "accept"
    INVALID_REFERENCE = "invalid_reference"
    ADDRESS = "address"
    SATISFIED = "satisfied"
    NEXT = "next"
    LANGUAGE = "language"
    """``/language <code>``: an owner corrects the project's language."""
    UPDATE = "update"
    """``/update``: the items a change made stale are updated to agree with it."""
    OTHER = "other"
    FREE_TEXT = "free_text"
    """Code could not place the message: the model classifies it into one of the others."""


class Step(StrEnum):
    CLASSIFY = "classify"
    OPEN_PROJECT = "open_project"
    ASK = "ask"
    WRITE_SECTION = "write_section"
    INTEGRATE = "integrate"
    CLOSE_STAGE = "close_stage"
    OPEN_NEXT_STAGE = "open_next_stage"
    REFUSE = "refuse"
    REPLY = "reply"
    SET_LANGUAGE = "set_language"
    PROPAGATE = "propagate"
    DONE = "done"


TRANSITIONS: dict[tuple[Phase, Input], Step] = {
    (Phase.AWAITING_IDEA, Input.IDEA): Step.OPEN_PROJECT,
    (Phase.AWAITING_FLOOR, Input.STAGE_START): Step.ASK,
    (Phase.AWAITING_FLOOR, Input.ADDRESS): Step.ASK,
    (Phase.AWAITING_FLOOR, Input.SATISFIED): Step.CLOSE_STAGE,
    (Phase.AWAITING_FLOOR, Input.NEXT): Step.CLOSE_STAGE,
    (Phase.AWAITING_FLOOR, Input.ANSWERS): Step.ASK,
    (Phase.AWAITING_FLOOR, Input.ACCEPT): Step.ASK,
    (Phase.AWAITING_FLOOR, Input.OTHER): Step.ASK,
    (Phase.AWAITING_ANSWERS, Input.STAGE_START): Step.ASK,
    (Phase.AWAITING_ANSWERS, Input.ANSWERS): Step.WRITE_SECTION,
    (Phase.AWAITING_ANSWERS, Input.ACCEPT): Step.WRITE_SECTION,
    (Phase.AWAITING_ANSWERS, Input.INVALID_REFERENCE): Step.REFUSE,
    (Phase.AWAITING_ANSWERS, Input.ADDRESS): Step.ASK,
    (Phase.AWAITING_ANSWERS, Input.SATISFIED): Step.CLOSE_STAGE,
    (Phase.AWAITING_ANSWERS, Input.NEXT): Step.CLOSE_STAGE,
    (Phase.AWAITING_ANSWERS, Input.OTHER): Step.REPLY,
    (Phase.STAGE_COMPLETED, Input.STAGE_START): Step.ASK,
    (Phase.STAGE_COMPLETED, Input.NEXT): Step.OPEN_NEXT_STAGE,
    (Phase.STAGE_COMPLETED, Input.SATISFIED): Step.REPLY,
    (Phase.STAGE_COMPLETED, Input.ADDRESS): Step.REPLY,
    (Phase.STAGE_COMPLETED, Input.ANSWERS): Step.REPLY,
    (Phase.STAGE_COMPLETED, Input.ACCEPT): Step.REPLY,
    (Phase.STAGE_COMPLETED, Input.OTHER): Step.REPLY,
}

# The language command is the same in every phase, the first message's included: typed before
# the idea, it sets the language the idea will be answered in.
TRANSITIONS.update({(phase, Input.LANGUAGE): Step.SET_LANGUAGE for phase in Phase})
# An update of stale items leaves the stage where it was (open questions stay open); before the
# idea there is nothing to update, which the step says.
TRANSITIONS.update({(phase, Input.UPDATE): Step.PROPAGATE for phase in Phase})

FOLLOWS: dict[Step, Step] = {
    Step.OPEN_PROJECT: Step.ASK,
    Step.WRITE_SECTION: Step.INTEGRATE,
    Step.OPEN_NEXT_STAGE: Step.ASK,
    Step.ASK: Step.DONE,
    Step.REFUSE: Step.DONE,
    Step.REPLY: Step.DONE,
    Step.SET_LANGUAGE: Step.DONE,
}
"""The step after each step that can only go one way; the others decide by a guard."""


class ProtocolError(RuntimeError):
    """A (phase, input) pair the protocol does not define: a bug, never the model's doing."""


def first_step(phase: Phase, given: Input) -> Step:
    if given is Input.FREE_TEXT:
        return Step.CLASSIFY
    step = TRANSITIONS.get((phase, given))
    if step is None:
        raise ProtocolError(f"no transition for {given} in phase {phase}")
    return step


# --- deterministic classification -----------------------------------------------------------

# Whole messages only (after trimming punctuation): a word inside a sentence is not a command,
# e.g. "не устраивает" must not complete a stage.
ACCEPT_WORDS = frozenset({"ok", "ок", "okay", "окей", "+", "да", "yes", "agree", "согласен"})
NEXT_WORDS = frozenset(
    {
        "next",
        "/next",
        "next stage",
        "дальше",
        "далее",
        "следующий этап",
        "продолжаем",
        "weiter",
        "suivant",
        "siguiente",
        "avanti",
        "próximo",
    }
)
SATISFIED_WORDS = frozenset(
    {"looks good", "lgtm", "устраивает", "всё устраивает", "все устраивает", "готово", "done"}
)
_TRIM = " \t\n.!?,;:…\"'«»"
_ADDRESS = re.compile(r"^\s*@([a-z_]+)\b")
UPDATE_WORDS = frozenset({"/update", "update", "обнови", "обновить", "/обновить"})
_LANGUAGE_COMMAND = re.compile(r"^\s*/(?:language|lang|язык)\s+(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Classified:
    input: Input
    selections: dict[int, list[str]] = field(default_factory=dict)
    free_text: str = ""
    expert: str | None = None
    language: str | None = None


def classify(
    text: str, phase: Phase, questions: Sequence[OpenQuestion], stage: DocumentType
) -> Classified:
    """What a user message is, decided by code wherever code can decide it."""
    command = _LANGUAGE_COMMAND.match(text)
    if command is not None:
        return Classified(Input.LANGUAGE, language=command.group(1).casefold())
    if text.strip(_TRIM).casefold() in UPDATE_WORDS:
        return Classified(Input.UPDATE)
    return _classify_message(text, phase, questions, stage)


def _classify_message(
    text: str, phase: Phase, questions: Sequence[OpenQuestion], stage: DocumentType
) -> Classified:
    if phase is Phase.AWAITING_IDEA:
        return Classified(Input.IDEA)
    word = text.strip(_TRIM).casefold()
    addressed = _addressed(text, stage)
    if addressed is not None:
        return Classified(Input.ADDRESS, expert=addressed)
    if word in NEXT_WORDS:
        return Classified(Input.NEXT)
    if word in SATISFIED_WORDS:
        return Classified(Input.SATISFIED)
    if phase is Phase.AWAITING_ANSWERS:
        answer = _as_answer(text, word, questions)
        if answer is not None:
            return answer
    return Classified(Input.FREE_TEXT, free_text=text.strip())


def _as_answer(text: str, word: str, questions: Sequence[OpenQuestion]) -> Classified | None:
    """A reply to open questions that code can read: the recommendations taken, selections
    (with any words around them), or a reference to something that was not asked."""
    if word in ACCEPT_WORDS:
        return Classified(Input.ACCEPT)
    parsed = parse_reply(text, [question.spec() for question in questions])
    if not parsed.is_valid:
        return Classified(Input.INVALID_REFERENCE)
    if parsed.selections:
        return Classified(Input.ANSWERS, selections=parsed.selections, free_text=parsed.free_text)
    return None


def _addressed(text: str, stage: DocumentType) -> str | None:
    match = _ADDRESS.match(text.casefold())
    if match is None:
        return None
    names = {spec.name.value for spec in experts_of(stage)}
    return match.group(1) if match.group(1) in names else None


# --- who speaks next ------------------------------------------------------------------------


def next_expert(
    stage: DocumentType,
    spoken: Sequence[str],
    *,
    requested: str | None = None,
    holding: str | None = None,
) -> AgentSpec:
    """The user's choice first; then the stage's experts in roster order, those who have not
    spoken in this stage before those who have, the fewest turns first; never the expert who
    just held the floor twice in a row when another can speak."""
    roster = experts_of(stage)
    if requested is not None:
        for spec in roster:
            if spec.name.value == requested:
                return spec
        raise ProtocolError(f"{requested} is not an expert of the {stage} stage")
    turns = {spec.name.value: spoken.count(spec.name.value) for spec in roster}
    last = holding or (spoken[-1] if spoken else None)
    candidates = [spec for spec in roster if spec.name.value != last] or list(roster)
    return min(candidates, key=lambda spec: (turns[spec.name.value], roster.index(spec)))


def following_stage(stage: DocumentType) -> DocumentType | None:
    index = STAGE_ORDER.index(stage)
    return STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None
