from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversation.models import AgentExecution, ConversationState, RunKind, RunStatus
from app.projects.models import ProjectMember
from app.projects.scoping import AccessibleProjectID

_OPEN = (RunStatus.QUEUED, RunStatus.RUNNING)
# The advisory-lock namespace of the users' run queues (see take_user_queue_turn).
_USER_QUEUE_LOCKS = 16_016


async def take_queue_turn(session: AsyncSession, project_id: AccessibleProjectID) -> None:
    """Posts to one project queue their message and run one after another, until commit.

    Ids are taken at insert time: without this, two messages posted at once could interleave
    (message A, message B, run B, run A), and the runs, executed in id order, would answer them
    in another order than the chat shows. A transaction-scoped advisory lock: nothing to clean
    up, and it never waits on a running turn.
    """
    # The random half of the UUIDv7: its first half is a timestamp, shared by projects made
    # in the same millisecond, whose posts would then wait for each other.
    key = int.from_bytes(project_id.bytes[8:], "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def add_run(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    *,
    kind: RunKind,
    stage: str,
    user_id: UUID,
    message_id: UUID | None,
) -> AgentExecution:
    run = AgentExecution(
        project_id=project_id, kind=kind, stage=stage, user_id=user_id, message_id=message_id
    )
    session.add(run)
    await session.flush()
    await session.refresh(run)
    return run


async def get_run(
    session: AsyncSession, project_id: AccessibleProjectID, run_id: UUID, *, lock: bool = False
) -> AgentExecution | None:
    query = select(AgentExecution).where(
        AgentExecution.project_id == project_id, AgentExecution.id == run_id
    )
    result = await session.execute(query.with_for_update() if lock else query)
    return result.scalar_one_or_none()


async def next_runnable(
    session: AsyncSession, project_id: AccessibleProjectID, now: datetime
) -> AgentExecution | None:
    """The project's oldest run that is queued, or running under an expired lease (its worker
    died). Runs are taken strictly in order: a project's runs never overtake each other."""
    result = await session.execute(
        select(AgentExecution)
        .where(
            AgentExecution.project_id == project_id,
            or_(
                AgentExecution.status == RunStatus.QUEUED,
                (AgentExecution.status == RunStatus.RUNNING) & (AgentExecution.lease_until < now),
            ),
        )
        .order_by(AgentExecution.id)
        .limit(1)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def has_open_runs(session: AsyncSession, project_id: AccessibleProjectID) -> bool:
    result = await session.execute(
        select(
            exists().where(
                AgentExecution.project_id == project_id, AgentExecution.status.in_(_OPEN)
            )
        )
    )
    return bool(result.scalar())


async def active_run(
    session: AsyncSession, project_id: AccessibleProjectID
) -> AgentExecution | None:
    result = await session.execute(
        select(AgentExecution)
        .where(AgentExecution.project_id == project_id, AgentExecution.status.in_(_OPEN))
        .order_by(AgentExecution.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def record_usage(
    session: AsyncSession, project_id: AccessibleProjectID, run_id: UUID, usage: dict[str, Any]
) -> None:
    await session.execute(
        update(AgentExecution)
        .where(AgentExecution.project_id == project_id, AgentExecution.id == run_id)
        .values(usage=AgentExecution.usage.op("||")([usage]))
    )


async def extend_lease(
    session: AsyncSession, project_id: AccessibleProjectID, run_id: UUID, until: datetime
) -> bool:
    """Renew a running run's lease; returns whether the user asked to cancel it."""
    result = await session.execute(
        update(AgentExecution)
        .where(
            AgentExecution.project_id == project_id,
            AgentExecution.id == run_id,
            AgentExecution.status == RunStatus.RUNNING,
        )
        .values(lease_until=until)
        .returning(AgentExecution.cancel_requested)
    )
    cancel = result.scalar_one_or_none()
    return bool(cancel)


async def state(session: AsyncSession, project_id: AccessibleProjectID) -> ConversationState:
    """The project's conversation state, created on first use, locked for this transaction."""
    await session.execute(
        insert(ConversationState).values(project_id=project_id).on_conflict_do_nothing()
    )
    result = await session.execute(
        select(ConversationState)
        .where(ConversationState.project_id == project_id)
        .with_for_update()
    )
    return result.scalar_one()


async def find_state(
    session: AsyncSession, project_id: AccessibleProjectID
) -> ConversationState | None:
    """The project's conversation state as it stands, for readers: neither created nor locked
    (None before the project's first message)."""
    result = await session.execute(
        select(ConversationState).where(ConversationState.project_id == project_id)
    )
    return result.scalar_one_or_none()


async def save_cursor(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    run_id: UUID,
    step: str,
    carry: dict[str, Any],
) -> None:
    """Move the run's cursor; in the transaction of the step whose effect it records."""
    await session.execute(
        update(AgentExecution)
        .where(AgentExecution.project_id == project_id, AgentExecution.id == run_id)
        .values(step=step, carry=carry)
    )


async def queued_counts(
    session: AsyncSession, project_id: AccessibleProjectID, user_id: UUID
) -> tuple[int, int]:
    """Runs waiting in the project, and runs the user has waiting over all their projects.

    The user's are looked up through their memberships, so both counts use the runs' (project,
    status) index.
    """
    theirs = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
    result = await session.execute(
        select(
            func.count().filter(AgentExecution.project_id == project_id),
            func.count().filter(AgentExecution.user_id == user_id),
        ).where(
            AgentExecution.status == RunStatus.QUEUED,
            or_(
                AgentExecution.project_id == project_id,
                AgentExecution.project_id.in_(theirs) & (AgentExecution.user_id == user_id),
            ),
        )
    )
    in_project, by_user = result.one()
    return int(in_project), int(by_user)


async def take_user_queue_turn(session: AsyncSession, user_id: UUID) -> None:
    """Posts of one user count their waiting runs one after another, until commit, so that
    two posts at once in two projects cannot both pass the user's cap. Taken before the
    project's turn (:func:`take_queue_turn`), always in that order."""
    # The two-key form keeps these locks apart from the projects' one-key ones.
    key = int.from_bytes(user_id.bytes[12:], "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(_USER_QUEUE_LOCKS, key)))
