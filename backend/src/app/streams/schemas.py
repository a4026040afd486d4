from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from app.documents.schemas import DocumentStatus
from app.projects.schemas import StageRead
from app.projects.stages import DocumentType


class ActiveRun(BaseModel):
    """The run the agents are on, or the next one to start."""

    id: UUID
    kind: str
    status: str
    stage: str
    message_id: UUID | None
    created_at: datetime
    started_at: datetime | None


class ProjectProgress(BaseModel):
    """A snapshot to load before subscribing to the project's events."""

    current_stage: DocumentType
    stages: list[StageRead]
    documents: list[DocumentStatus]
    active_run: ActiveRun | None = Field(description="Null when no run is queued or running.")
    last_event_id: str | None = Field(
        description="The project's newest event when this snapshot was taken (null: none "
        "yet). Subscribe with it as Last-Event-ID (or ?last_event_id=) to miss nothing."
    )


class EventStreamTicket(BaseModel):
    """Opens the project's event stream once, for browsers' EventSource (which cannot send an
    Authorization header): ``GET …/events?ticket=…``."""

    ticket: str = Field(description="Single use; valid for this project only.")
    expires_in: int = Field(description="Seconds until the ticket expires unused.")
