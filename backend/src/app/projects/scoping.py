"""The types that scope a query to one project: only the access guard
(:func:`app.projects.dependencies.get_project_context`) makes them, and repositories accept
nothing else for a project-owned table."""

from dataclasses import dataclass
from typing import NewType
from uuid import UUID

from app.projects.models import Project, ProjectRole

AccessibleProjectID = NewType("AccessibleProjectID", UUID)
"""A project id whose caller membership was checked (see dependencies.get_project_context)."""


@dataclass(frozen=True, slots=True)
class ProjectContext:
    project_id: AccessibleProjectID
    project: Project
    role: ProjectRole
    user_id: UUID
