from fastapi import APIRouter

from app.core.deps import SessionDep, read_only
from app.core.errors import error_responses
from app.documents.tracing import service as trace_service
from app.documents.tracing.schemas import TraceRead
from app.projects.dependencies import ProjectViewer

router = APIRouter(prefix="/projects/{project_id}/trace", tags=["documents"])


@router.get("", response_model=TraceRead, responses=error_responses(401, 403, 404))
@read_only
async def get_trace(context: ProjectViewer, session: SessionDep) -> TraceRead:
    """The items of the active versions (`G-3`, `R-12`, `C-4`, `D-2`, `T-17`, `M-2`), what each
    serves, the gaps (goals nothing serves, requirements without a component or task, tasks
    that serve nothing, links to retired items) and the items marked stale by a change."""
    return await trace_service.trace(session, context.project_id)
