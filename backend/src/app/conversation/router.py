from uuid import UUID

from fastapi import APIRouter, status

from app.conversation import service as conversation_service
from app.conversation.resources import ConversationResourcesDep
from app.conversation.schemas import (
    LanguageCorrection,
    MessageAccepted,
    MessageCreate,
    RunRead,
    StageStartAccepted,
)
from app.core.deps import JobQueueDep, SessionDep, read_only
from app.core.errors import error_responses
from app.projects.dependencies import ProjectEditor, ProjectOwner, ProjectViewer
from app.projects.schemas import ProjectRead, StageRead
from app.projects.stages import DocumentType

router = APIRouter(prefix="/projects/{project_id}", tags=["conversation"])

_READ = error_responses(401, 403, 404)
_WRITE = error_responses(401, 403, 404, 409, 422)


@router.post(
    "/messages",
    response_model=MessageAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_WRITE,
)
async def post_message(
    data: MessageCreate,
    context: ProjectEditor,
    session: SessionDep,
    resources: ConversationResourcesDep,
    queue: JobQueueDep,
) -> MessageAccepted:
    """Send a message to the team. The answer comes as events of the returned run."""
    return await conversation_service.post_message(
        session, queue, resources.settings, context, data.content
    )


@router.get("/runs/{run_id}", response_model=RunRead, responses=_READ)
@read_only
async def get_run(run_id: UUID, context: ProjectViewer, session: SessionDep) -> RunRead:
    return await conversation_service.get_run(session, context, run_id)


@router.post("/runs/{run_id}/cancel", response_model=RunRead, responses=_WRITE)
async def cancel_run(run_id: UUID, context: ProjectEditor, session: SessionDep) -> RunRead:
    """Stop a run: at once when queued, at its next heartbeat when running."""
    return await conversation_service.cancel_run(session, context, run_id)


@router.post(
    "/stages/{stage}/start",
    response_model=StageStartAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_WRITE,
)
async def start_stage(
    stage: DocumentType,
    context: ProjectEditor,
    session: SessionDep,
    resources: ConversationResourcesDep,
    queue: JobQueueDep,
) -> StageStartAccepted:
    """Open a stage (its previous stage must be completed) or re-open a completed one."""
    run = await conversation_service.start_stage(session, queue, resources.settings, context, stage)
    return StageStartAccepted(run=run)


@router.post("/stages/{stage}/complete", response_model=StageRead, responses=_WRITE)
async def complete_stage(
    stage: DocumentType, context: ProjectEditor, session: SessionDep
) -> StageRead:
    """Close a stage explicitly (saying you are satisfied in the chat does the same)."""
    return await conversation_service.finish_stage(session, context, stage)


@router.put("/language", response_model=ProjectRead, responses=_WRITE)
async def correct_language(
    data: LanguageCorrection, context: ProjectOwner, session: SessionDep, queue: JobQueueDep
) -> ProjectRead:
    """Correct the language detected from the first message (owners only). Allowed until the
    team has written a document (the first answer's restructured idea does not count), then
    409 ``language_locked``. The agents write in the new language from the next message; the
    chat command ``/language <code>`` does the same."""
    return await conversation_service.correct_language(session, queue, context, data.language)
