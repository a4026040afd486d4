"""Readiness: each part answers a cheap query within a deadline, all checked concurrently.

The model provider is asked too, but at most every ``LLM_CHECK_SECONDS`` (a readiness probe
every few seconds must not turn into a stream of calls to a paid API), and its answer never
fails readiness.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import cast

from sqlalchemy import text

from app.core.config import LLMSettings
from app.health.resources import HealthResources
from app.health.schemas import LLMCheck, PartCheck, Readiness
from app.llm import probe as llm_probe

LLM_CHECK_SECONDS = 30.0


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
    results, llm = await asyncio.gather(
        asyncio.gather(*(_timed(check, timeout) for check in (postgres, redis, qdrant))),
        _LLM_CHECKS.check(resources.settings.llm, timeout),
    )
    checks = dict(zip(names, results, strict=True))
    failed = [name for name, result in checks.items() if not result.ok]
    return Readiness(
        status="unavailable" if failed else "ready", failed=failed, checks=checks, llm=llm
    )


class _RecentLLMChecks:
    """The provider's last answer per configuration, reused for ``LLM_CHECK_SECONDS``."""

    def __init__(self) -> None:
        self._answers: dict[tuple[object, ...], tuple[float, llm_probe.LLMProbe]] = {}

    async def check(self, settings: LLMSettings, deadline_seconds: float) -> LLMCheck:
        key = (settings.provider, settings.base_url, settings.model, settings.api_key)
        checked_at, answer = self._answers.get(key, (0.0, None))
        if answer is None or time.monotonic() - checked_at >= LLM_CHECK_SECONDS:
            answer = await llm_probe.probe(settings, deadline_seconds)
            checked_at = time.monotonic()
            self._answers[key] = (checked_at, answer)
        return LLMCheck(
            status=answer.status.value,
            provider=settings.provider.value,
            model=settings.model,
            output_mode=settings.output_mode.value,
            error=answer.error,
            checked_seconds_ago=round(time.monotonic() - checked_at, 1),
        )


_LLM_CHECKS = _RecentLLMChecks()
