from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.messages.models import MessageKind, MessageRole


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    role: MessageRole
    kind: MessageKind
    author_user_id: UUID | None
    author_agent: str | None = Field(description="The agent that wrote it, e.g. `pm`.")
    stage: str | None
    content: str = Field(description="Markdown.")
    payload: dict[str, Any] | None = Field(
        description="Structured content: questions with lettered options, parsed answers, …"
    )
    correlation_id: str | None
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageRead] = Field(description="Oldest first.")
    older_cursor: UUID | None = Field(
        description="Pass as `before` to get the messages before these; null at the start."
    )
    newer_cursor: UUID | None = Field(
        description="Pass as `after` to get the messages after these; null at the end."
    )
