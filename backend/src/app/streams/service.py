"""Stream tickets: a bearer token traded for one stream opening, for EventSource clients; and
the access check an open stream repeats.

A ticket is 256 random bits. Redis keeps only its SHA-256, under the project's own key space
(``proj:{project_id}:sse-ticket:{hash}``) with the holder's user id and a short expiry. Redeeming
deletes it (GETDEL), so a ticket that leaks through a URL log after use opens nothing, and a
ticket looked up under any other project's key space simply does not exist there.
"""

from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import EventsSettings
from app.core.redis import project_key
from app.core.security import hash_token, new_opaque_token
from app.events.streams import AccessCheck
from app.projects import repository as project_repository
from app.projects.scoping import ProjectContext
from app.streams.schemas import EventStreamTicket

TICKET_PREFIX = "jxt_"


def _ticket_key(project_id: UUID, digest: str) -> str:
    return project_key(project_id, "sse-ticket", digest)


async def issue_ticket(
    redis: "Redis", settings: EventsSettings, context: ProjectContext
) -> EventStreamTicket:
    ticket, digest = new_opaque_token(TICKET_PREFIX)
    ttl = settings.ticket_ttl_seconds
    await redis.set(_ticket_key(context.project_id, digest), str(context.user_id), ex=ttl)
    return EventStreamTicket(ticket=ticket, expires_in=ttl)


async def redeem_ticket(redis: "Redis", project_id: UUID, ticket: str) -> UUID | None:
    """The user a live ticket of this project was issued to, consuming it; else None."""
    if not ticket.startswith(TICKET_PREFIX):
        return None
    holder = await redis.getdel(_ticket_key(project_id, hash_token(ticket)))
    if holder is None:
        return None
    return UUID(holder.decode("ascii") if isinstance(holder, bytes) else holder)


def membership_check(
    session_factory: async_sessionmaker[AsyncSession], context: ProjectContext
) -> AccessCheck:
    """Whether the stream's holder is still a member of the project (which still exists), read
    from the database on each call: a session of its own, held only for the query, since the
    stream outlives the request's."""
    project_id, user_id = context.project_id, context.user_id

    async def still_member() -> bool:
        async with session_factory() as session:
            membership = await project_repository.get_membership(session, project_id, user_id)
        return membership is not None

    return still_member
