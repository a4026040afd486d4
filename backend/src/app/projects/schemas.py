from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.text import UserText
from app.projects.models import InvitationStatus, ProjectRole, StageStatus
from app.projects.stages import DocumentType


class ProjectCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: UserText = Field(min_length=1, max_length=200)
    description: UserText | None = Field(default=None, max_length=10_000)


class ProjectUpdate(BaseModel):
    """Name and description only; the language is set once by the conversation and stays."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: UserText | None = Field(default=None, min_length=1, max_length=200)
    description: UserText | None = Field(default=None, max_length=10_000)


class ProjectRead(BaseModel):
    id: UUID
    name: str
    description: str | None
    language: str | None = Field(description="ISO 639-1 code, fixed by the first message.")
    role: ProjectRole = Field(description="The caller's role in this project.")
    current_stage: DocumentType
    created_at: datetime
    updated_at: datetime


class MemberAdd(BaseModel):
    """An invitation to an e-mail address; its holder becomes a member on accepting it."""

    email: EmailStr
    role: ProjectRole


class MemberUpdate(BaseModel):
    role: ProjectRole


class MemberRead(BaseModel):
    user_id: UUID
    email: str | None
    name: str | None
    role: ProjectRole
    created_at: datetime


class StageRead(BaseModel):
    stage: DocumentType
    status: StageStatus
    started_at: datetime | None
    completed_at: datetime | None


class InvitationRead(BaseModel):
    """What the inviting owner sees: the same for any address, with or without an account."""

    id: UUID
    email: str
    role: ProjectRole
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime


class ReceivedInvitationRead(InvitationRead):
    """What the invitee sees: which project invites them."""

    project_id: UUID
    project_name: str
