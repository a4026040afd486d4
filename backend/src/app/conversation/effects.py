"""What steps read and what they change, as plain data.

A step reads a :class:`Snapshot` and documents through a :class:`Reader`, asks the model
through :class:`Models`, and returns an :class:`Outcome`: the effects to apply, the next step
and what the next step needs to know (the run's :class:`Carry`). The engine applies the effects
and the new cursor in one transaction, so a step's effect happens once or not at all, and a
run taken over resumes at the step it died in.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field

from app.conversation.protocol import Input, Phase, Step
from app.conversation.questions import OpenQuestion
from app.conversation.roster import AgentSpec
from app.core.config import LLMCallKind
from app.documents.tracing.service import Propagation
from app.projects.stages import DocumentType

OutputT = TypeVar("OutputT", bound=BaseModel)
DeltaSink = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Where the conversation stands, read at the start of a step."""

    phase: Phase
    stage: DocumentType
    language: str | None
    floor: str | None
    questions: tuple[OpenQuestion, ...]
    questions_message_id: UUID | None
    spoken: tuple[str, ...]
    turns: int
    stage_written: bool
    """The stage's document has a version written since the stage (last) started."""


@dataclass(frozen=True, slots=True)
class Document:
    version: int
    content: str


@dataclass(frozen=True, slots=True)
class UserMessage:
    id: UUID
    content: str


class Carry(BaseModel):
    """What a run's later steps need from its earlier ones; persisted with the cursor."""

    input: Input | None = None
    expert: str | None = Field(default=None, description="The expert addressed or writing.")
    selections: dict[int, list[str]] = Field(default_factory=dict)
    free_text: str = ""
    reply: str | None = None
    section_message_id: UUID | None = None
    based_on_version: int | None = None
    edits: list[dict[str, Any]] | None = None
    summary: str | None = None
    stage_covered: bool = False
    conflicts: int = 0
    replied: bool = False
    language: str | None = Field(default=None, description="The code a /language command names.")
    propagated: list[str] = Field(
        default_factory=list, description="The versions an /update wrote so far, e.g. plan v4."
    )
    visited: list[DocumentType] = Field(
        default_factory=list, description="The documents an /update has dealt with so far."
    )


# --- effects ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenProject:
    """Lock the language, greet, start the idea stage and write ``idea`` v1, all at once."""

    language: str
    greeting: str
    idea: str
    source_message_id: UUID


@dataclass(frozen=True, slots=True)
class GiveFloor:
    """The expert takes the floor and asks: the questions are posted and become the open ones."""

    expert: AgentSpec
    questions: tuple[OpenQuestion, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class PostSection:
    """The expert's section, as written, in the chat (its id goes into the carry)."""

    expert: AgentSpec
    text: str
    selections: dict[int, list[str]]
    free_text: str


@dataclass(frozen=True, slots=True)
class IntegrateVersion:
    """A new version on top of ``expected_version``; the expert's turn is counted and the
    floor is free again."""

    stage: DocumentType
    expected_version: int
    content: str
    reason: str
    sources: tuple[UUID, ...]
    expert: AgentSpec


@dataclass(frozen=True, slots=True)
class PropagateVersion:
    """A new version whose stale items were updated to agree with what they serve; only their
    sections differ from ``expected_version``."""

    stage: DocumentType
    expected_version: int
    content: str
    reason: str
    answers: tuple[str, ...]
    """The stale items of the sections rewritten: their marks end with this version."""


@dataclass(frozen=True, slots=True)
class CompleteStage:
    stage: DocumentType
    message: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OpenStage:
    stage: DocumentType


@dataclass(frozen=True, slots=True)
class CorrectLanguage:
    """An owner's ``/language`` command: the language changes if it still may, and the chat
    says what happened either way."""

    code: str


@dataclass(frozen=True, slots=True)
class PostNotice:
    """A message of the Product Manager the user sees (text) or a refusal (error)."""

    content: str
    error: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


Effect = (
    OpenProject
    | GiveFloor
    | PostSection
    | IntegrateVersion
    | PropagateVersion
    | CompleteStage
    | OpenStage
    | CorrectLanguage
    | PostNotice
)


@dataclass(frozen=True, slots=True)
class Outcome:
    next: Step
    effects: tuple[Effect, ...] = ()
    carry: Carry | None = None
    """The carry for the next step; None keeps the current one."""


# --- the narrow interfaces steps use ---------------------------------------------------------


class Reader(Protocol):
    async def snapshot(self) -> Snapshot: ...

    async def user_message(self) -> UserMessage: ...

    async def latest(self, stage: DocumentType) -> Document | None: ...

    async def version(self, stage: DocumentType, number: int) -> Document: ...

    async def message_text(self, message_id: UUID) -> str: ...

    async def earlier_documents(self, stage: DocumentType) -> str: ...

    async def history(self, expert: AgentSpec) -> str: ...

    async def memory(self, query: str, *, exclude: DocumentType) -> str: ...

    async def trace_gaps(self, stage: DocumentType) -> str:
        """The traceability gaps the stage's document can close, one per line."""
        ...

    async def propagation(self, skip: Sequence[DocumentType]) -> Propagation | None:
        """The earliest document with stale items (``skip`` aside) and what they must catch
        up with."""
        ...

    async def stale_items(self) -> list[str]:
        """Every item still marked stale."""
        ...


class Models(Protocol):
    async def generate(
        self,
        agent: AgentSpec,
        language: str | None,
        prompt: str,
        output_type: type[OutputT],
        *,
        kind: LLMCallKind,
    ) -> OutputT:
        """A structured answer; ``language`` None: the agent's instructions name none yet."""
        ...

    async def stream_section(self, agent: AgentSpec, language: str, prompt: str) -> str: ...

    async def stream_opening(
        self, language: str | None, prompt: str, output_type: type[OutputT]
    ) -> OutputT:
        """The first answer, its idea streamed to the chat as it is written; ``language`` is
        the one an owner set before the idea, if any."""
        ...
