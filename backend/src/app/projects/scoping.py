"""The types that scope a query to one project: only the access guard
(:func:`app.projects.dependencies.get_project_context`) makes them, and repositories accept
nothing else for a project-owned table."""

from dataclasses import dataclass
from typing import NewType
from uuid import UUID

from app.projects.models import ProjectRole

AccessibleProjectID = NewType("AccessibleProjectID", UUID)
"""A project id whose caller membership was checked (see dependencies.get_project_context)."""


@dataclass(frozen=True, slots=True)
class ProjectContext:
    """A member's access to one project. The project's own columns are not in it: they change
    as the conversation goes, and the guard often answers from memory (see
    :mod:`app.projects.memberships`); read them with ``projects.service.load_project``."""

    project_id: AccessibleProjectID
    role: ProjectRole
    user_id: UUID
