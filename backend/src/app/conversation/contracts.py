"""What each step of the conversation must return, validated beyond types.

An output that fails these checks goes back to the model with the error (the LLM gateway's
bounded output retries), so a small local model gets a chance to correct itself.
"""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model, field_validator, model_validator

from app.conversation.languages import ISO_639_1
from app.conversation.roster import AgentSpec

LETTERS = "abcde"


class LanguageDetection(BaseModel):
    """The language the user wrote in."""

    language: str = Field(description="ISO 639-1 code of the user's language, e.g. en, ru, de.")

    @field_validator("language")
    @classmethod
    def _iso_639_1(cls, value: str) -> str:
        code = value.strip().lower()
        if code not in ISO_639_1:
            raise ValueError(f"{value!r} is not an ISO 639-1 language code")
        return code


class Greeting(BaseModel):
    """The Product Manager's first answer: a greeting and the idea, restructured."""

    greeting: str = Field(min_length=1, max_length=2000)
    restructured_idea: str = Field(
        min_length=1,
        max_length=20_000,
        description="Markdown: the user's idea, restructured, adding nothing of your own.",
    )


class FloorAction(StrEnum):
    GIVE_FLOOR = "give_floor"
    STAGE_COVERED = "stage_covered"


class _FloorDecisionBase(BaseModel):
    action: FloorAction
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _agent_with_the_floor(self) -> "_FloorDecisionBase":
        agent = getattr(self, "agent", None)
        if self.action is FloorAction.GIVE_FLOOR and agent is None:
            raise ValueError("give_floor needs the agent who gets the floor")
        return self


def floor_decision_for(experts: tuple[AgentSpec, ...]) -> type[_FloorDecisionBase]:
    """The floor decision of one stage: only that stage's experts can be named."""
    names = tuple(spec.name.value for spec in experts)
    agent_type: Any = Literal[names]
    model: type[_FloorDecisionBase] = create_model(
        "FloorDecision",
        __base__=_FloorDecisionBase,
        agent=(agent_type | None, Field(default=None, description="Who speaks next.")),
    )
    return model


class Option(BaseModel):
    letter: Literal["a", "b", "c", "d", "e"]
    text: str = Field(min_length=1, max_length=500)


class QuestionOut(BaseModel):
    text: str = Field(min_length=1, max_length=1000)
    options: list[Option] = Field(min_length=2, max_length=5)
    recommended: Literal["a", "b", "c", "d", "e"] | None = None

    @model_validator(mode="after")
    def _letters_from_a_without_gaps(self) -> "QuestionOut":
        letters = "".join(option.letter for option in self.options)
        if letters != LETTERS[: len(self.options)]:
            raise ValueError(f"options must be lettered a, b, c… without gaps, got {letters!r}")
        if self.recommended is not None and self.recommended not in letters:
            raise ValueError(f"the recommended option {self.recommended!r} is not an option")
        return self


class ExpertQuestions(BaseModel):
    """An expert's questions for the user."""

    questions: list[QuestionOut] = Field(min_length=1, max_length=5)


class Integration(BaseModel):
    """The Product Manager's integration of an expert's section into the stage document."""

    document: str = Field(
        min_length=1, max_length=200_000, description="The whole new document, Markdown."
    )
    summary: str = Field(min_length=1, max_length=500, description="What changed, briefly.")


class IntentKind(StrEnum):
    ANSWERS = "answers"
    SATISFIED = "satisfied"
    ADDRESS_EXPERT = "address_expert"
    ACCEPT_RECOMMENDATIONS = "accept_recommendations"
    OTHER = "other"


class Intent(BaseModel):
    """What the user's message means for the conversation."""

    kind: IntentKind
    expert: str | None = Field(
        default=None, description="With address_expert: the expert's name, e.g. qa_expert."
    )

    @model_validator(mode="after")
    def _expert_when_addressed(self) -> "Intent":
        if self.kind is IntentKind.ADDRESS_EXPERT and not self.expert:
            raise ValueError("address_expert needs the expert's name")
        return self
