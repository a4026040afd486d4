"""Every ORM model, imported in one place so Alembic sees all tables and imports never cycle."""

from app.core.db import Base
from app.users.models import User

__all__ = ["Base", "User"]
