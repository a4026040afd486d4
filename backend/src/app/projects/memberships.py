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

from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.rate_limit import Stamp
from app.core.redis import project_key
from app.core.stamped import StampedMemory, renew_with_commit
from app.projects.models import ProjectRole

MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 20_000
STAMP_TTL_SECONDS = 24 * 60 * 60


def access_stamp(project_id: UUID) -> Stamp:
    # Under the project's prefix: deleting the project purges it with the project's other keys.
    return Stamp(key=project_key(project_id, "access"), ttl_seconds=STAMP_TTL_SECONDS)


async def renew_access(session: AsyncSession, redis: "Redis", project_id: UUID) -> None:
    """Access to the project changes in ``session``'s transaction (see
    :func:`app.core.stamped.renew_with_commit`)."""
    await renew_with_commit(session, redis, access_stamp(project_id))


MembershipCache = StampedMemory[tuple[UUID, UUID], ProjectRole]
"""(project, user) → role, under the project's access stamp."""


def new_membership_cache() -> MembershipCache:
    return MembershipCache(max_entries=MAX_ENTRIES, max_age_seconds=MAX_AGE_SECONDS)
