from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.principals import Caller
from app.auth.resources import AuthResources, AuthResourcesDep
from app.auth.service import LimitsOf
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


async def get_caller(resources: AuthResourcesDep, session: SessionDep, bearer: BearerDep) -> Caller:
    return await caller_from_bearer(
        session, resources, bearer.credentials if bearer is not None else None
    )


async def caller_from_bearer(
    session: AsyncSession,
    resources: AuthResources,
    bearer: str | None,
    *,
    also: LimitsOf | None = None,
) -> Caller:
    """Who presents ``bearer``, counted against their per-user rate limit (and ``also``'s, in
    the same round trip): what every authenticated request goes through, whichever door it came
    in by (the API, ``/mcp``, a project's guard)."""
    if bearer is None:
        raise InvalidCredentialsError

    def limits(user_id: UUID) -> Sequence[Limit]:
        own = user_limit(resources, user_id)
        return [own] if also is None else [own, *also(user_id)]

    return await auth_service.admit(session, resources, bearer, limits=limits)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


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
