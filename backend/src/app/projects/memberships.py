"""Who is a member of a project, and with which role, remembered briefly by each replica and
forgotten everywhere at once when access to the project changes.

The same scheme as :mod:`app.auth.principals`: a membership is filed under the project's
*access stamp*, read in the round trip that counts the request's rate limits, and used only
while the stamp is unchanged. Removing a member, changing a role or deleting the project renews
the stamp (before the commit, and again after it), so the next request on any replica reads
the membership again: removing access removes it everywhere with that request. A membership is
filed under a stamp read before its row was, never after.

Only memberships are remembered, never their absence (a stranger's request always reads the
row, and gets 404), and never the project's own columns, which change as the conversation goes
(its stage, its language): a route that needs them reads them (:func:`load_project`).
"""

import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import after_commit
from app.core.rate_limit import Stamp, renew_stamp
from app.core.redis import project_key
from app.projects.models import ProjectRole

MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 20_000
STAMP_TTL_SECONDS = 24 * 60 * 60


def access_stamp(project_id: UUID) -> Stamp:
    # Under the project's prefix: deleting the project purges it with the project's other keys.
    return Stamp(key=project_key(project_id, "access"), ttl_seconds=STAMP_TTL_SECONDS)


async def renew_access(session: AsyncSession, redis: "Redis", project_id: UUID) -> None:
    """Access to the project changes in ``session``'s transaction: renewed now (a change Redis
    cannot announce fails whole) and again once it committed, since a request in between may
    have read the old rows under the first renewal."""
    stamp = access_stamp(project_id)
    await renew_stamp(redis, stamp)
    after_commit(session, partial(renew_stamp, redis, stamp))


@dataclass(frozen=True, slots=True)
class _Membership:
    role: ProjectRole
    stamp: str
    valid_until: float


class MembershipCache:
    """(project, user) → role, under the project's access stamp; least recently used dropped
    first."""

    def __init__(
        self, *, max_entries: int = MAX_ENTRIES, max_age_seconds: float = MAX_AGE_SECONDS
    ) -> None:
        self._entries: OrderedDict[tuple[UUID, UUID], _Membership] = OrderedDict()
        self._max_entries = max_entries
        self._max_age_seconds = max_age_seconds

    def role(self, project_id: UUID, user_id: UUID, stamp: str) -> ProjectRole | None:
        """The remembered role, when it was filed under ``stamp`` (the current one) and is not
        too old."""
        key = (project_id, user_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.stamp != stamp or entry.valid_until <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.role

    def remember(self, project_id: UUID, user_id: UUID, role: ProjectRole, stamp: str) -> None:
        key = (project_id, user_id)
        self._entries[key] = _Membership(role, stamp, time.monotonic() + self._max_age_seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
