"""Changes to who may see a project, announced once they commit.

Removing a member or deleting the project queues a notice next to the write; the commit hook of
:mod:`app.events.transaction` sends it after the commit (a rollback drops it), and every open
event stream of the project then checks its holder's membership again (see
:mod:`app.events.streams`). A role change needs no notice: every role sees the same stream.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import enqueue_after_commit, take_committed

_ACCESS_CHANGED = "app.projects.access_changed"


def defer_access_change(session: AsyncSession, project_id: UUID) -> None:
    """Announce, once ``session``'s transaction commits, that access to the project shrank."""
    enqueue_after_commit(session, _ACCESS_CHANGED, project_id)


def take_access_changes(session: AsyncSession) -> list[UUID]:
    """The projects whose access changed in committed transactions, each once, in order."""
    changed: list[UUID] = take_committed(session, _ACCESS_CHANGED)
    return list(dict.fromkeys(changed))
