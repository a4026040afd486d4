from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

from app.conversation.contracts import LanguageCode
from app.conversation.models import RunKind, RunStatus
from app.core.text import UserText
from app.messages.schemas import MessageRead

MAX_MESSAGE_CHARS = 20_000


class MessageCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    content: UserText = Field(
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description='Free text, or answers like "1.b, 2.c", or both.',
    )


class LanguageCorrection(BaseModel):
    language: LanguageCode = Field(  # type: ignore[valid-type]
        description="ISO 639-1 code the team writes in from the next message, e.g. ru."
    )


class RunError(BaseModel):
    code: str
    message: str
    details: Any | None = Field(
        default=None,
        description="Structured context, when useful: for llm_request_rejected the provider's "
        "HTTP status and its message (scrubbed of anything secret, at most 240 characters).",
    )


class RunRead(BaseModel):
    id: UUID
    kind: RunKind
    status: RunStatus
    stage: str
    message_id: UUID | None
    attempts: int
    error: RunError | None
    input_tokens: int = Field(
        description="Tokens sent to models by this run so far, failed calls included."
    )
    output_tokens: int
    estimated_tokens: int = Field(
        description="How many of those tokens are estimates: the provider reported none (some "
        "servers omit usage from streams; a request that timed out reports nothing)."
    )
    model_calls: int = Field(description="Gateway calls, failed ones included.")
    model_requests: int = Field(
        description="Requests that reached the model, repeats and validation retries included."
    )
    validation_retries: int = Field(description="Answers sent back for failing validation.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class MessageAccepted(BaseModel):
    """The stored message and the run that will answer it (see the project's events)."""

    message: MessageRead
    run: RunRead


class StageStartAccepted(BaseModel):
    run: RunRead

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stage(self) -> str:
        return self.run.stage
