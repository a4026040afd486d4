"""Every ORM model, imported in one place so Alembic sees all tables and imports never cycle."""

from app.auth.models import PersonalAccessToken, RefreshToken, SignInCode, UserIdentity
from app.conversation.models import AgentExecution, ConversationState
from app.core.db import Base
from app.documents.models import DocumentVersion
from app.documents.tracing.models import StaleItem, TraceItem
from app.exports.models import Export
from app.messages.models import Message
from app.projects.models import Project, ProjectInvitation, ProjectMember, ProjectStage
from app.users.models import User

__all__ = [
    "AgentExecution",
    "Base",
    "ConversationState",
    "DocumentVersion",
    "Export",
    "Message",
    "PersonalAccessToken",
    "Project",
    "ProjectInvitation",
    "ProjectMember",
    "ProjectStage",
    "RefreshToken",
    "SignInCode",
    "StaleItem",
    "TraceItem",
    "User",
    "UserIdentity",
]
