"""Every event a project's stream carries: one Pydantic model per SSE event name.

The SSE ``event`` field is ``type``; ``data`` is the model's JSON, which always carries
``project_id``. The event id is the Redis stream id, assigned on publication.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field


class _ProjectEvent(BaseModel):
    project_id: UUID


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: Any | None = Field(default=None, description="Structured context, when useful.")


class RunStarted(_ProjectEvent):
    type: Literal["run.started"] = "run.started"
    run_id: UUID
    message_id: UUID | None = Field(description="The user message the run answers.")
    stage: str


class AgentFloor(_ProjectEvent):
    type: Literal["agent.floor"] = "agent.floor"
    run_id: UUID
    agent: str = Field(description="The agent given the floor, e.g. `business_analyst`.")
    stage: str
    reason: str


class QuestionOption(BaseModel):
    letter: str = Field(pattern=r"^[a-e]$")
    text: str


class Question(BaseModel):
    number: int = Field(ge=1, le=5)
    text: str
    options: list[QuestionOption]
    recommended: str | None = Field(default=None, pattern=r"^[a-e]$")


class ExpertQuestions(_ProjectEvent):
    type: Literal["expert.questions"] = "expert.questions"
    run_id: UUID
    agent: str
    message_id: UUID
    questions: list[Question]


class ExpertSectionDelta(_ProjectEvent):
    type: Literal["expert.section.delta"] = "expert.section.delta"
    run_id: UUID
    agent: str
    sequence: int = Field(ge=0, description="Deltas of one section, numbered from 0.")
    delta: str


class ExpertSection(_ProjectEvent):
    type: Literal["expert.section"] = "expert.section"
    run_id: UUID
    agent: str
    message_id: UUID
    title: str
    content: str


class AgentMessage(_ProjectEvent):
    """A chat message of the Product Manager or the system: a greeting, a reply, a refusal, a
    stage's closing, an error. Questions and sections have events of their own."""

    type: Literal["agent.message"] = "agent.message"
    run_id: UUID | None
    message_id: UUID
    agent: str | None = Field(description="The agent who wrote it; none for the system.")
    kind: str = Field(description="The message's kind: `text`, `notice` or `error`.")
    content: str


class DocumentVersionCreated(_ProjectEvent):
    type: Literal["document.version"] = "document.version"
    document_type: str
    version: int
    author_agent: str | None
    author_user_id: UUID | None
    reason: str


class TraceStale(_ProjectEvent):
    """A new version changed or retired items that items of later documents serve."""

    type: Literal["trace.stale"] = "trace.stale"
    document_type: str = Field(description="The document whose new version caused it.")
    version: int
    changed: list[str] = Field(description="Its changed or retired item ids, e.g. `R-12`.")
    stale: list[str] = Field(description="The later items now marked stale, e.g. `C-4`.")


class StageCompleted(_ProjectEvent):
    type: Literal["stage.completed"] = "stage.completed"
    stage: str
    next_stage: str | None


class RunCompleted(_ProjectEvent):
    type: Literal["run.completed"] = "run.completed"
    run_id: UUID


class RunFailed(_ProjectEvent):
    type: Literal["run.failed"] = "run.failed"
    run_id: UUID
    error: ErrorInfo


class ExportProgress(_ProjectEvent):
    type: Literal["export.progress"] = "export.progress"
    export_id: UUID
    percent: int = Field(ge=0, le=100)
    step: str


class ExportReady(_ProjectEvent):
    type: Literal["export.ready"] = "export.ready"
    export_id: UUID
    expires_at: datetime


class ExportFailed(_ProjectEvent):
    type: Literal["export.failed"] = "export.failed"
    export_id: UUID
    error: ErrorInfo


class Ping(_ProjectEvent):
    type: Literal["ping"] = "ping"


ProjectEvent = Annotated[
    RunStarted
    | AgentFloor
    | ExpertQuestions
    | ExpertSectionDelta
    | ExpertSection
    | AgentMessage
    | DocumentVersionCreated
    | TraceStale
    | StageCompleted
    | RunCompleted
    | RunFailed
    | ExportProgress
    | ExportReady
    | ExportFailed
    | Ping,
    Field(discriminator="type"),
]
