"""The auth dependency timed in process (item 2 of run_all), with its parts.

    python bench/auth_timing.py --calls 10000 --user <uuid>   # JEEX_* as for the API process

Calls ``app.auth.dependencies.caller_from_bearer`` (what ``get_caller`` runs) per request: a
fresh session each time (a request's own), the same bearer (so, after the first call, the
replica's memory of it and the round trip that checks it is still good), the real Resources
(database, Valkey, signing key). Only the dependency's await is timed. Then its three parts
alone: the JWT check, the user lookup, the rate-limit counter. Prints one JSON line of
per-call times (ms).
"""

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from uuid import UUID

import uvloop
from fastapi.security import HTTPAuthorizationCredentials

from app.auth.dependencies import caller_from_bearer
from app.core.config import load_settings
from app.core.infrastructure import Endpoints
from app.core.rate_limit import Limit
from app.resources import Resources
from app.users import repository as user_repository


async def timed(calls: int, step: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(min(200, calls)):  # warm-up: connections, prepared statements, the script
        await step()
    durations = []
    for _ in range(calls):
        started = time.perf_counter()
        await step()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


async def main(calls: int, user_id: UUID) -> None:
    settings = load_settings()
    resources = Resources.open(settings, Endpoints.from_settings(settings))
    token = resources.access_tokens.issue(user_id)
    limit = Limit(
        scope="user",
        key=f"rl:user:{user_id}",
        per_window=settings.rate_limit_user_per_window,
        window_seconds=settings.rate_limit_window_seconds,
    )

    async def dependency() -> object:
        async with resources.session_factory() as session:
            credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
            started = time.perf_counter()
            await caller_from_bearer(session, resources, credentials.credentials)
            return time.perf_counter() - started

    async def user_lookup() -> object:
        async with resources.session_factory() as session:
            return await user_repository.get_by_id(session, user_id)

    async def jwt_check() -> object:
        return resources.access_tokens.verify(token)

    async def rate_limit() -> object:
        return await resources.rate_limiter.enforce([limit])

    try:
        # The dependency alone, without opening and closing the session around it.
        for _ in range(min(200, calls)):
            await dependency()
        only = [float(await dependency()) * 1000 for _ in range(calls)]  # type: ignore[arg-type]
        print(
            json.dumps(
                {
                    "dependency": only,
                    "jwt_check": await timed(calls, jwt_check),
                    "user_lookup_with_session": await timed(calls, user_lookup),
                    "rate_limit": await timed(calls, rate_limit),
                }
            )
        )
    finally:
        await resources.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--user", type=UUID, required=True)
    arguments = parser.parse_args()
    uvloop.run(main(arguments.calls, arguments.user))
