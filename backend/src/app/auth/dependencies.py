from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.resources import AuthResources, AuthResourcesDep
from app.auth.service import Caller
from app.core.deps import SessionDep
from app.core.rate_limit import Limit, enforce
from app.core.security import InvalidCredentialsError

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An access token from /auth/refresh or a personal access token (jxp_…).",
)


async def get_caller(
    resources: AuthResourcesDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Caller:
    return await caller_from_bearer(
        session, resources, credentials.credentials if credentials is not None else None
    )


async def caller_from_bearer(
    session: AsyncSession, resources: AuthResources, bearer: str | None
) -> Caller:
    """Who presents ``bearer``, counted against their per-user rate limit: what every
    authenticated request goes through, whichever door it came in by (the API, ``/mcp``)."""
    if bearer is None:
        raise InvalidCredentialsError
    caller = await auth_service.authenticate(session, resources, bearer)
    await enforce(
        resources.redis,
        Limit(
            scope="user",
            key=f"rl:user:{caller.user_id}",
            per_window=resources.settings.rate_limits.user_per_window,
            window_seconds=resources.settings.rate_limits.window_seconds,
        ),
    )
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def limit_auth_requests_by_ip(request: Request, resources: AuthResourcesDep) -> None:
    # Over a Unix socket there is no peer address: those requests share one bucket.
    peer = request.client.host if request.client else "unix-socket"
    await enforce(
        resources.redis,
        Limit(
            scope="address",
            key=f"rl:ip:auth:{peer}",
            per_window=resources.settings.rate_limits.auth_per_window,
            window_seconds=resources.settings.rate_limits.window_seconds,
        ),
    )
