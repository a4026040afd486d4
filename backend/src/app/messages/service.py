from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.messages import repository as message_repository
from app.messages.exceptions import AmbiguousCursorError, MessageNotFoundError
from app.messages.schemas import MessagePage, MessageRead
from app.projects.scoping import AccessibleProjectID


async def page(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    *,
    before: UUID | None,
    after: UUID | None,
    limit: int,
) -> MessagePage:
    """A page of the chat log, oldest first. Without a cursor: the newest messages."""
    if before is not None and after is not None:
        raise AmbiguousCursorError
    cursor = after if after is not None else before
    if cursor is not None and not await message_repository.contains(session, project_id, cursor):
        # A cursor from another project is treated like any unknown id.
        raise MessageNotFoundError("No such message in this project.")
    if after is not None:
        rows = await message_repository.newer_than(session, project_id, after, limit + 1)
        has_newer, has_older = len(rows) > limit, True
        items = rows[:limit]
    else:
        rows = await message_repository.older_than(session, project_id, before, limit + 1)
        has_older, has_newer = len(rows) > limit, before is not None
        items = list(reversed(rows[:limit]))
    return MessagePage(
        items=[MessageRead.model_validate(row) for row in items],
        older_cursor=items[0].id if items and has_older else None,
        newer_cursor=items[-1].id if items and has_newer else None,
    )
