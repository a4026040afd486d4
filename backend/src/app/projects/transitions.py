"""The one place that moves a project's language and stages: every write to
``Project.language``, ``Project.current_stage`` and ``ProjectStage`` goes through here."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.projects.models import Project, ProjectStage, StageStatus
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType


async def lock_language(session: AsyncSession, project_id: AccessibleProjectID, code: str) -> str:
    """The project's language is written once; a concurrent writer's choice stands."""
    project = await session.get(Project, project_id, with_for_update=True)
    if project is None:
        raise LookupError(project_id)
    if project.language is None:
        project.language = code
        return code
    locked: str = project.language
    return locked


async def correct_language(
    session: AsyncSession, project_id: AccessibleProjectID, code: str
) -> str | None:
    """Replace the project's language (the caller has checked that it may still change);
    returns the one it had."""
    project = await session.get(Project, project_id, with_for_update=True)
    if project is None:
        raise LookupError(project_id)
    previous: str | None = project.language
    project.language = code
    return previous


async def stage_row(
    session: AsyncSession, project_id: AccessibleProjectID, stage: DocumentType, *, lock: bool
) -> ProjectStage:
    row = await session.get(ProjectStage, (project_id, stage.value), with_for_update=lock)
    if row is None:
        raise LookupError(stage)
    return row


async def mark_stage_in_progress(
    session: AsyncSession, project_id: AccessibleProjectID, stage: DocumentType
) -> None:
    """The stage is being worked on; its start time is kept from the first time."""
    row = await session.get(ProjectStage, (project_id, stage.value))
    if row is None:
        raise LookupError(stage)
    row.status = StageStatus.IN_PROGRESS
    if row.started_at is None:
        row.started_at = datetime.now(UTC)


def open_stage(project: Project, row: ProjectStage) -> None:
    """(Re-)open the stage of ``row`` and make it the project's current one."""
    row.status = StageStatus.IN_PROGRESS
    row.started_at = datetime.now(UTC)
    row.completed_at = None
    project.current_stage = row.stage


async def complete_stage(
    session: AsyncSession, project_id: AccessibleProjectID, stage: DocumentType
) -> ProjectStage:
    row = await stage_row(session, project_id, stage, lock=True)
    row.status = StageStatus.COMPLETED
    row.completed_at = datetime.now(UTC)
    return row
