"""Who may open a project's event stream: a member, by bearer token or by stream ticket."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Security
from fastapi.security import APIKeyQuery

from app.auth.dependencies import BearerDep
from app.auth.principals import Caller
from app.core.deps import SessionDep
from app.core.security import InvalidCredentialsError
from app.projects.dependencies import admit_member, get_project_context
from app.projects.models import ProjectRole
from app.projects.scoping import ProjectContext
from app.streams import service as stream_service
from app.streams.resources import StreamResourcesDep

# A security scheme rather than a plain query parameter, so that the schema says what it is:
# the alternative to the bearer token, either one enough.
ticket_scheme = APIKeyQuery(
    name="ticket",
    auto_error=False,
    scheme_name="StreamTicket",
    description="A stream ticket from POST …/events/ticket, instead of the Authorization "
    "header (for EventSource).",
)


async def event_stream_context(
    project_id: UUID,
    session: SessionDep,
    resources: StreamResourcesDep,
    bearer: BearerDep,
    ticket: Annotated[str | None, Security(ticket_scheme)] = None,
) -> ProjectContext:
    """Any member (viewers included); everyone else gets 404, as on every project route.

    A ticket that is unknown, used, expired or issued for another project is a credential that
    failed: 401, the same for every project, so it reveals nothing about this one. A good
    ticket of someone who is no longer a member meets the 404 of every non-member.
    """
    if ticket is None:
        return await get_project_context(project_id, session, resources, bearer)
    user_id = await stream_service.redeem_ticket(resources.redis, project_id, ticket)
    if user_id is None:
        raise InvalidCredentialsError("The stream ticket is unknown, used or expired.")
    # Membership is checked again on redemption: a member removed since the ticket was issued
    # is a stranger now.
    caller = Caller(user_id=user_id, via_personal_token=False)
    return await admit_member(session, resources, project_id, caller)


# Read by the role matrix test, like the guards of projects.dependencies.
event_stream_context.minimum_role = ProjectRole.VIEWER  # type: ignore[attr-defined]
EventStreamContext = Annotated[ProjectContext, Depends(event_stream_context)]
