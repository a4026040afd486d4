"""What each model call of the conversation must return.

The constraints live in the JSON schema the model is sent (enums for language codes, agents
and section keys, bounds on lengths and counts), so a grammar-constrained server can only
produce valid output, and a model that may say anything the schema allows still leaves the
conversation in a valid state: everything the model returns is advice the engine checks.
Letters of options, ids and the order of the conversation are the engine's, never the model's.
"""

from enum import StrEnum
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from app.conversation.languages import ISO_639_1
from app.conversation.roster import experts_of
from app.documents.sections import REQUIRED_SECTIONS
from app.projects.stages import DocumentType

MAX_SECTION_CHARS = 20_000

LanguageCode = Literal[tuple(sorted(ISO_639_1))]  # type: ignore[valid-type]


class Opening(BaseModel):
    """The Product Manager's first answer: the user's language, a greeting, and the idea."""

    language: LanguageCode = Field(  # type: ignore[valid-type]
        description="ISO 639-1 code of the language the user wrote in, e.g. en, ru, de."
    )
    greeting: str = Field(min_length=1, max_length=2000)
    restructured_idea: str = Field(
        min_length=1,
        max_length=MAX_SECTION_CHARS,
        description="Markdown: the user's idea, restructured, adding nothing of your own.",
    )


class QuestionOut(BaseModel):
    text: str = Field(min_length=1, max_length=1000)
    options: list[str] = Field(
        min_length=2,
        max_length=5,
        description="The answers to choose from; the first is lettered a, the next b, and so on.",
    )
    recommended: int | None = Field(
        default=None, ge=1, le=5, description="The number (1 = a) of the option you recommend."
    )


class ExpertQuestions(BaseModel):
    """An expert's questions for the user."""

    questions: list[QuestionOut] = Field(min_length=1, max_length=5)


class EditOp(StrEnum):
    ACCEPT = "accept"
    """The expert's text for this section, as written: nothing to repeat."""
    REPLACE = "replace"
    INSERT = "insert"
    REMOVE = "remove"


class _SectionEditBase(BaseModel):
    op: EditOp
    content: str | None = Field(
        default=None,
        max_length=MAX_SECTION_CHARS,
        description=(
            "With replace and insert: the section's Markdown, its heading first; "
            "none with accept and remove."
        ),
    )


class _IntegrationBase(BaseModel):
    summary: str = Field(min_length=1, max_length=500, description="What changed, briefly.")
    stage_covered: bool = Field(
        description="True when the stage document now answers what this stage needs."
    )

    # Filled in by create_model with the stage's own section keys.
    edits: list[Any]


@cache
def integration_for(stage: DocumentType) -> type[_IntegrationBase]:
    """The integration output of one stage: edits can only name that stage's sections."""
    keys: Any = Literal[tuple(spec.key for spec in REQUIRED_SECTIONS[stage])]
    edit: type[_SectionEditBase] = create_model(
        "SectionEdit",
        __base__=_SectionEditBase,
        section=(
            keys,
            Field(description="The key of the section (its <!-- section:… --> marker)."),
        ),
    )
    model: type[_IntegrationBase] = create_model(
        "Integration",
        __base__=_IntegrationBase,
        edits=(list[edit], Field(max_length=len(REQUIRED_SECTIONS[stage]))),
    )
    return model


class IntentKind(StrEnum):
    ANSWERS = "answers"
    SATISFIED = "satisfied"
    ADDRESS_EXPERT = "address_expert"
    ACCEPT_RECOMMENDATIONS = "accept_recommendations"
    NEXT_STAGE = "next_stage"
    OTHER = "other"


class _IntentBase(BaseModel):
    kind: IntentKind
    reply: str = Field(
        min_length=1,
        max_length=2000,
        description="A short answer to the user, shown when the message is not an answer.",
    )
    expert: Any = None


@cache
def intent_for(stage: DocumentType) -> type[_IntentBase]:
    """What a free-text message means; only the stage's experts can be addressed."""
    names: Any = Literal[tuple(spec.name.value for spec in experts_of(stage))]
    model: type[_IntentBase] = create_model(
        "Intent",
        __base__=_IntentBase,
        expert=(
            names | None,
            Field(default=None, description="With address_expert: who the user asks for."),
        ),
    )
    return model


class StageClosing(BaseModel):
    """The Product Manager's message when a stage is completed."""

    message: str = Field(min_length=1, max_length=3000)


class _SectionRewriteBase(BaseModel):
    content: str = Field(
        min_length=1,
        max_length=MAX_SECTION_CHARS,
        description="The section's new Markdown, its heading first; keep every item's bold id.",
    )

    # Filled in by create_model with the keys of the stage's sections that list items.
    section: Any = None


class _PropagationBase(BaseModel):
    sections: list[Any]


@cache
def propagation_for(stage: DocumentType) -> type[_PropagationBase]:
    """The rewrite of a document's stale sections: only sections that list items can be named
    (the engine takes only those it asked for)."""
    listed = tuple(spec.key for spec in REQUIRED_SECTIONS[stage] if spec.items is not None)
    keys: Any = Literal[listed]
    rewrite: type[_SectionRewriteBase] = create_model(
        "SectionRewrite",
        __base__=_SectionRewriteBase,
        section=(
            keys,
            Field(description="The key of the section (its <!-- section:… --> marker)."),
        ),
    )
    model: type[_PropagationBase] = create_model(
        "Propagation",
        __base__=_PropagationBase,
        sections=(list[rewrite], Field(min_length=1, max_length=len(listed))),
    )
    return model
