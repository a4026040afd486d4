from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.principals import Caller
from app.auth.resources import AuthResources, AuthResourcesDep
from app.auth.service import Admission, Metering, MeteringOf
from app.core.deps import SessionDep
from app.core.rate_limit import Limit
from app.core.security import InvalidCredentialsError

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An access token from /auth/refresh or a personal access token (jxp_…).",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def user_limit(resources: AuthResources, user_id: UUID) -> Limit:
    limits = resources.settings.rate_limits
    return Limit(
        scope="user",
        key=f"rl:user:{user_id}",
        per_window=limits.user_per_window,
        window_seconds=limits.window_seconds,
    )


async def get_caller(request: Request, session: SessionDep, bearer: BearerDep) -> Caller:
    # The resources straight from the request rather than through get_resources: every
    # authenticated request solves this, and each dependency costs FastAPI a solve.
    resources: AuthResources = request.app.state.resources
    return await caller_from_bearer(
        session, resources, bearer.credentials if bearer is not None else None
    )


async def get_admission(request: Request, session: SessionDep, bearer: BearerDep) -> Admission:
    """:func:`get_caller`, with the stamps its admission read (for what a route remembers)."""
    resources: AuthResources = request.app.state.resources
    return await admit_bearer(
        session, resources, bearer.credentials if bearer is not None else None
    )


async def caller_from_bearer(
    session: AsyncSession, resources: AuthResources, bearer: str | None
) -> Caller:
    """Who presents ``bearer``, counted against their per-user rate limit: what every
    authenticated request goes through, whichever door it came in by (the API, ``/mcp``)."""
    admission = await admit_bearer(session, resources, bearer)
    return admission.caller


async def admit_bearer(
    session: AsyncSession,
    resources: AuthResources,
    bearer: str | None,
    *,
    also: MeteringOf | None = None,
) -> Admission:
    """:func:`caller_from_bearer`, also counting what ``also`` names (a project's limits) and
    reading its stamps, in the same round trip."""
    if bearer is None:
        raise InvalidCredentialsError

    def metering(user_id: UUID) -> Metering:
        own = user_limit(resources, user_id)
        if also is None:
            return Metering(limits=[own])
        extra = also(user_id)
        return Metering(limits=[own, *extra.limits], stamps=extra.stamps)

    return await auth_service.admit(session, resources, bearer, metering=metering)


CurrentCaller = Annotated[Caller, Depends(get_caller)]
CurrentAdmission = Annotated[Admission, Depends(get_admission)]


async def limit_auth_requests_by_ip(request: Request, resources: AuthResourcesDep) -> None:
    # Over a Unix socket there is no peer address: those requests share one bucket.
    peer = request.client.host if request.client else "unix-socket"
    await resources.rate_limiter.enforce(
        [
            Limit(
                scope="address",
                key=f"rl:ip:auth:{peer}",
                per_window=resources.settings.rate_limits.auth_per_window,
                window_seconds=resources.settings.rate_limits.window_seconds,
            )
        ]
    )
