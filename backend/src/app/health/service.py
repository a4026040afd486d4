"""Readiness: each part answers a cheap query within a deadline, all checked concurrently."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import cast

from sqlalchemy import text

from app.health.resources import HealthResources
from app.health.schemas import PartCheck, Readiness


async def _timed(check: Callable[[], Awaitable[object]], deadline: float) -> PartCheck:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), deadline)
    except TimeoutError:
        error: str | None = f"no answer within {deadline:g}s"
    except Exception as exc:
        # The class name says what went wrong without echoing a driver's message.
        error = f"unreachable ({type(exc).__name__})"
    else:
        error = None
    latency = round((time.perf_counter() - started) * 1000, 2)
    return PartCheck(ok=error is None, latency_ms=latency, error=error)


async def check_readiness(resources: HealthResources) -> Readiness:
    async def postgres() -> None:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        # redis-py types ping() as "awaitable or not" for its sync and async clients alike.
        await cast("Awaitable[bool]", resources.redis.ping())

    async def qdrant() -> None:
        await resources.qdrant.get_collections()

    timeout = resources.settings.health_check_timeout_seconds
    names = ("postgres", "redis", "qdrant")
    results = await asyncio.gather(*(_timed(check, timeout) for check in (postgres, redis, qdrant)))
    checks = dict(zip(names, results, strict=True))
    failed = [name for name, result in checks.items() if not result.ok]
    return Readiness(status="unavailable" if failed else "ready", failed=failed, checks=checks)
