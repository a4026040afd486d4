from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field

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


class RunError(BaseModel):
    code: str
    message: str


class RunRead(BaseModel):
    id: UUID
    kind: RunKind
    status: RunStatus
    stage: str
    message_id: UUID | None
    attempts: int
    error: RunError | None
    input_tokens: int = Field(description="Tokens sent to models by this run so far.")
    output_tokens: int
    model_calls: int
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
