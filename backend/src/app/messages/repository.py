from typing import Any
from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.messages.models import Message, MessageKind, MessageRole
from app.projects.scoping import AccessibleProjectID


async def add(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    *,
    role: MessageRole,
    kind: MessageKind,
    content: str,
    author_user_id: UUID | None = None,
    author_agent: str | None = None,
    stage: str | None = None,
    payload: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> Message:
    message = Message(
        project_id=project_id,
        role=role,
        kind=kind,
        content=content,
        author_user_id=author_user_id,
        author_agent=author_agent,
        stage=stage,
        payload=payload,
        correlation_id=correlation_id,
    )
    session.add(message)
    await session.flush()
    await session.refresh(message)
    return message


async def contains(
    session: AsyncSession, project_id: AccessibleProjectID, message_id: UUID
) -> bool:
    result = await session.execute(
        select(exists().where(Message.project_id == project_id, Message.id == message_id))
    )
    return bool(result.scalar())


async def older_than(
    session: AsyncSession, project_id: AccessibleProjectID, cursor: UUID | None, limit: int
) -> list[Message]:
    """Up to ``limit`` messages before ``cursor`` (or the newest), newest first."""
    query = select(Message).where(Message.project_id == project_id)
    if cursor is not None:
        query = query.where(Message.id < cursor)
    result = await session.execute(query.order_by(Message.id.desc()).limit(limit))
    return list(result.scalars())


async def newer_than(
    session: AsyncSession, project_id: AccessibleProjectID, cursor: UUID, limit: int
) -> list[Message]:
    """Up to ``limit`` messages after ``cursor``, oldest first."""
    result = await session.execute(
        select(Message)
        .where(Message.project_id == project_id, Message.id > cursor)
        .order_by(Message.id)
        .limit(limit)
    )
    return list(result.scalars())
