"""Every ORM model, imported in one place so Alembic sees all tables and imports never cycle."""

from app.auth.models import PersonalAccessToken, RefreshToken, UserIdentity
from app.core.db import Base
from app.projects.models import Project, ProjectMember
from app.users.models import User

__all__ = [
    "Base",
    "PersonalAccessToken",
    "Project",
    "ProjectMember",
    "RefreshToken",
    "User",
    "UserIdentity",
]
