"""Events that describe a database change leave only after the change commits.

A service calls :func:`defer_event` next to the write; the request's session dependency (or a
worker's :func:`unit_of_work`) publishes what committed right after the commit. A rollback drops
the events of the transaction it undoes, savepoints included: an event deferred inside a
``begin_nested()`` block that rolls back is dropped, the rest of the transaction's events stay.

Delivery is at most once: if Redis is unreachable just after a commit, the event is logged and
lost rather than failing a request whose change is already durable; clients recover from the
``/progress`` snapshot.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from redis.exceptions import RedisError
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.core.resources import Resources
from app.events.publisher import EventPublisher
from app.events.schemas import ProjectEvent

_PENDING = "app.events.pending"
_COMMITTED = "app.events.committed"

logger = structlog.get_logger("app.events")


@dataclass(frozen=True, slots=True)
class _Deferred:
    event: ProjectEvent
    # The innermost transaction open when the event was deferred: a rollback drops exactly the
    # events whose transaction it undoes.
    transaction: SessionTransaction


def defer_event(session: AsyncSession, event: ProjectEvent) -> None:
    """Publish ``event`` once ``session``'s current transaction commits; drop it on rollback."""
    sync = session.sync_session
    # Begun here if nothing ran yet (what the first statement would do anyway): a rollback
    # without a transaction reports nothing, and the event must still die with it.
    transaction = sync.get_nested_transaction() or sync.get_transaction() or sync.begin()
    session.info.setdefault(_PENDING, []).append(_Deferred(event, transaction))


def _undone_by(deferred: _Deferred, rolled_back: SessionTransaction) -> bool:
    if rolled_back.parent is None:
        return True  # the whole transaction is gone, with every savepoint in it
    transaction: SessionTransaction | None = deferred.transaction
    while transaction is not None:
        if transaction is rolled_back:
            return True
        transaction = transaction.parent
    return False


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Deferred] | None = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [
            item for item in pending if not _undone_by(item, previous_transaction)
        ]


@sa_event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a released savepoint: not durable until the outer transaction commits
    pending: list[_Deferred] | None = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(item.event for item in pending)


async def publish_committed(session: AsyncSession, publisher: EventPublisher) -> int:
    """Publish, in order, the events whose transaction committed; returns how many went."""
    committed: list[ProjectEvent] = session.info.pop(_COMMITTED, [])
    published = 0
    for item in committed:
        try:
            await publisher.publish(item)
        except RedisError:
            # The change is durable already; failing the caller now would invite a retry of a
            # write that succeeded. Logged with the event so the gap can be traced.
            logger.error(
                "event_publish_failed",
                project_id=str(item.project_id),
                event_type=item.type,
                exc_info=True,
            )
        else:
            published += 1
    return published


@asynccontextmanager
async def unit_of_work(resources: Resources) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block ends cleanly and rolls back when it
    raises; events it deferred are published after the commit, or dropped with the rollback."""
    async with resources.session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            # Also after a failure: a service may have committed part of its work explicitly
            # before failing (e.g. revoking a reused token family), and that part happened.
            await publish_committed(session, resources.events)
