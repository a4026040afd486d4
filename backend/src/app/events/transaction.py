"""Events that describe a database change leave only after the change commits.

A service calls :func:`defer_event` next to the write; the event waits in the session's
after-commit queue (:mod:`app.core.db`), which drops it with a rolled-back transaction or
savepoint. The session factory built by the composition root carries :func:`publishing` as a
commit hook, so every unit of work publishes what committed right after the commit.

Delivery is at most once: if Redis is unreachable just after a commit, the event is logged and
lost rather than failing a request whose change is already durable; clients recover from the
``/progress`` snapshot.
"""

import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import CommitHook, enqueue_after_commit, take_committed
from app.events.publisher import EventPublisher
from app.events.schemas import ProjectEvent
from app.projects.access import take_access_changes

_EVENTS = "app.events"

logger = structlog.get_logger("app.events")


def defer_event(session: AsyncSession, event: ProjectEvent) -> None:
    """Publish ``event`` once ``session``'s current transaction commits; drop it on rollback."""
    enqueue_after_commit(session, _EVENTS, event)


async def publish_committed(session: AsyncSession, publisher: EventPublisher) -> int:
    """Publish, in order, the events whose transaction committed; returns how many went."""
    committed: list[ProjectEvent] = take_committed(session, _EVENTS)
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


async def announce_committed_access_changes(
    session: AsyncSession, publisher: EventPublisher
) -> int:
    """Announce to the streams of each project whose access shrank in a committed transaction
    (:mod:`app.projects.access`); returns how many went. A lost notice delays the streams'
    check until their periodic one, so Redis failing here is logged, not raised."""
    announced = 0
    for project_id in take_access_changes(session):
        try:
            await publisher.announce_access_change(project_id)
        except RedisError:
            logger.error("access_change_announce_failed", project_id=str(project_id), exc_info=True)
        else:
            announced += 1
    return announced


def publishing(publisher: EventPublisher) -> CommitHook:
    """The commit hook that publishes a unit of work's committed events through ``publisher``,
    then its access changes. Run before the after-commit callbacks, so a deleted project's
    streams hear of it before its keys are purged."""

    async def publish(session: AsyncSession) -> int:
        published = await publish_committed(session, publisher)
        return published + await announce_committed_access_changes(session, publisher)

    return publish
