"""The conversation as the API sees it: messages in, runs out, stages opened and closed."""

from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversation import language as conversation_language
from app.conversation import notices
from app.conversation import repository as conversation_repository
from app.conversation import store as conversation_store
from app.conversation.exceptions import (
    RunFinishedError,
    RunNotFoundError,
    RunQueueFullError,
    StageIncompleteError,
    StageOrderError,
    StageStateError,
)
from app.conversation.models import AgentExecution, RunKind, RunStatus
from app.conversation.protocol import following_stage
from app.conversation.schemas import MessageAccepted, RunError, RunRead
from app.conversation.steps import section_headings
from app.conversation.worker import enqueue_project
from app.core.config import Settings
from app.core.db import after_commit
from app.core.logging import current_correlation_id
from app.documents import repository as document_repository
from app.events import schemas as events
from app.events.transaction import defer_event
from app.messages import repository as message_repository
from app.messages.models import MessageKind, MessageRole
from app.messages.schemas import MessageRead
from app.projects import service as project_service
from app.projects import transitions as stage_transitions
from app.projects.models import ProjectStage, StageStatus
from app.projects.schemas import ProjectRead, StageRead
from app.projects.scoping import ProjectContext
from app.projects.stages import STAGE_ORDER, DocumentType


def run_read(run: AgentExecution) -> RunRead:
    usage = run.usage or []
    return RunRead(
        id=run.id,
        kind=RunKind(run.kind),
        status=RunStatus(run.status),
        stage=run.stage,
        message_id=run.message_id,
        attempts=run.attempts,
        error=RunError(
            code=run.error_code, message=run.error_message or "", details=run.error_details
        )
        if run.error_code
        else None,
        input_tokens=_total(usage, "input_tokens"),
        output_tokens=_total(usage, "output_tokens"),
        estimated_tokens=_total(usage, "estimated_tokens"),
        model_calls=len(usage),
        model_requests=_total(usage, "requests"),
        validation_retries=_total(usage, "output_retries"),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def _total(usage: list[dict[str, Any]], field: str) -> int:
    # Records stored before a field existed lack it: they counted none of it.
    return sum(int(item.get(field, 0)) for item in usage)


async def post_message(
    session: AsyncSession, queue: Queue, settings: Settings, context: ProjectContext, content: str
) -> MessageAccepted:
    """Store the message and its run together; the job is queued only once both exist."""
    await _take_queue_turn(session, settings, context)
    stage = (await project_service.load_project(session, context)).current_stage
    message = await message_repository.add(
        session,
        context.project_id,
        role=MessageRole.USER,
        kind=MessageKind.TEXT,
        content=content,
        author_user_id=context.user_id,
        stage=stage,
        correlation_id=current_correlation_id(),
    )
    run = await conversation_repository.add_run(
        session,
        context.project_id,
        kind=RunKind.MESSAGE,
        stage=stage,
        user_id=context.user_id,
        message_id=message.id,
    )
    after_commit(session, partial(enqueue_project, queue, settings, context.project_id))
    return MessageAccepted(message=MessageRead.model_validate(message), run=run_read(run))


async def _take_queue_turn(
    session: AsyncSession, settings: Settings, context: ProjectContext
) -> None:
    """Take the project's queue turn, or refuse a run over the caps on waiting runs (before
    anything is recorded): no tenant fills the worker's queue."""
    await conversation_repository.take_user_queue_turn(session, context.user_id)
    await conversation_repository.take_queue_turn(session, context.project_id)
    quotas = settings.quotas
    in_project, by_user = await conversation_repository.queued_counts(
        session, context.project_id, context.user_id
    )
    if in_project >= quotas.queued_runs_per_project:
        raise RunQueueFullError(
            "This project already has as many runs waiting as allowed; try again when one "
            "has started.",
            details={"scope": "project", "limit": quotas.queued_runs_per_project},
        )
    if by_user >= quotas.queued_runs_per_user:
        raise RunQueueFullError(
            "You already have as many runs waiting as allowed over your projects; try again "
            "when one has started.",
            details={"scope": "user", "limit": quotas.queued_runs_per_user},
        )


async def correct_language(
    session: AsyncSession, queue: Queue, context: ProjectContext, code: str
) -> ProjectRead:
    """An owner's correction of the detected language (see :mod:`app.conversation.language`)."""
    await conversation_language.correct_language(session, queue, context.project_id, code)
    await session.flush()
    await session.refresh(await project_service.load_project(session, context))
    return await project_service.read_project(session, context)


async def get_run(session: AsyncSession, context: ProjectContext, run_id: UUID) -> RunRead:
    run = await conversation_repository.get_run(session, context.project_id, run_id)
    if run is None:
        raise RunNotFoundError("No such run in this project.")
    return run_read(run)


async def cancel_run(session: AsyncSession, context: ProjectContext, run_id: UUID) -> RunRead:
    """A queued run ends now; a running one stops at its worker's next heartbeat."""
    run = await conversation_repository.get_run(session, context.project_id, run_id, lock=True)
    if run is None:
        raise RunNotFoundError("No such run in this project.")
    if run.status == RunStatus.QUEUED:
        run.status = RunStatus.CANCELLED
        run.finished_at = datetime.now(UTC)
        run.error_code, run.error_message = "cancelled", "The run was cancelled."
        await conversation_store.post_cancelled(
            session, context.project_id, run.id, DocumentType(run.stage)
        )
        defer_event(
            session,
            events.RunFailed(
                project_id=context.project_id,
                run_id=run.id,
                error=events.ErrorInfo(code="cancelled", message="The run was cancelled."),
            ),
        )
    elif run.status == RunStatus.RUNNING:
        run.cancel_requested = True
    else:
        raise RunFinishedError(f"The run is already {run.status}.")
    await session.flush()
    return run_read(run)


async def start_stage(
    session: AsyncSession,
    queue: Queue,
    settings: Settings,
    context: ProjectContext,
    stage: DocumentType,
) -> RunRead:
    """Open (or re-open) a stage; its first expert is chosen by a run."""
    project = await project_service.load_project(session, context)
    if project.language is None:
        raise StageOrderError("The conversation starts with the first message, the raw idea.")
    index = STAGE_ORDER.index(stage)
    if index > 0:
        previous = await _stage_row(session, context, STAGE_ORDER[index - 1], lock=False)
        if previous.status != StageStatus.COMPLETED:
            raise StageOrderError(
                f"The {STAGE_ORDER[index - 1]} stage must be completed before {stage} starts."
            )
    await _take_queue_turn(session, settings, context)
    row = await _stage_row(session, context, stage, lock=True)
    if row.status == StageStatus.IN_PROGRESS:
        raise StageStateError(f"The {stage} stage is already in progress.")
    state = await conversation_repository.state(session, context.project_id)
    await conversation_store.open_stage(session, context.project_id, state, stage)
    run = await conversation_repository.add_run(
        session,
        context.project_id,
        kind=RunKind.STAGE_START,
        stage=stage.value,
        user_id=context.user_id,
        message_id=None,
    )
    after_commit(session, partial(enqueue_project, queue, settings, context.project_id))
    return run_read(run)


async def finish_stage(
    session: AsyncSession, context: ProjectContext, stage: DocumentType
) -> StageRead:
    """Complete a stage from the API: only once its document has a version written in it, and
    with the Product Manager's closing notice in the chat, as when the chat completes it."""
    await conversation_repository.take_queue_turn(session, context.project_id)
    row = await _stage_row(session, context, stage, lock=True)
    if row.status != StageStatus.IN_PROGRESS:
        raise StageStateError(f"The {stage} stage is not in progress.")
    state = await conversation_repository.state(session, context.project_id)
    if not await conversation_store.stage_written(session, context.project_id, state, stage):
        raise StageIncompleteError(
            f"The {stage} document has no version written in this stage yet; answer an "
            "expert's questions or edit it first."
        )
    document = await document_repository.latest(session, context.project_id, stage)
    if document is None:
        raise LookupError(stage)
    language = (await project_service.load_project(session, context)).language
    following = following_stage(stage)
    headings = section_headings(document.content)
    await conversation_store.complete_stage(
        session,
        context.project_id,
        state,
        stage,
        None,
        notices.closed(stage, headings, following, language),
        {
            "document_type": stage.value,
            "version": document.version,
            "sections": headings,
            "next_stage": following.value if following else None,
            "notice_language": notices.notice_language(language),
        },
    )
    return StageRead.model_validate(row, from_attributes=True)


async def _stage_row(
    session: AsyncSession, context: ProjectContext, stage: DocumentType, *, lock: bool
) -> ProjectStage:
    return await stage_transitions.stage_row(session, context.project_id, stage, lock=lock)
