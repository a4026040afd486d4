from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from app.core.deps import SessionDep, read_only
from app.core.errors import error_responses
from app.messages import service as message_service
from app.messages.schemas import MessagePage
from app.projects.dependencies import ProjectViewer

router = APIRouter(prefix="/projects/{project_id}/messages", tags=["messages"])


@router.get("", response_model=MessagePage, responses=error_responses(400, 401, 403, 404, 422))
@read_only
async def list_messages(
    context: ProjectViewer,
    session: SessionDep,
    before: Annotated[UUID | None, Query(description="Messages older than this id.")] = None,
    after: Annotated[UUID | None, Query(description="Messages newer than this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    """The project's chat log, a page at a time, in both directions."""
    return await message_service.page(
        session, context.project_id, before=before, after=after, limit=limit
    )
