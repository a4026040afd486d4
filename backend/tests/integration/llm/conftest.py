"""The scripted model server, and gateways pointed at it with small timeouts and backoffs."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis

from app.core.config import LLMCallKind, Settings
from app.core.embedded.redis import EmbeddedRedis
from app.core.redis import create_redis
from app.llm.constants import AgentName
from app.llm.schemas import LLMCall
from app.llm.service import LLMGateway
from tests.conftest import make_settings
from tests.llm_double import ScriptedLLMServer

GatewayFactory = Callable[..., Awaitable[LLMGateway]]

# Fast enough for a test suite, slow enough to tell a hang from an answer on a busy machine.
FAST = {
    "llm_model": "scripted-model",
    "llm_connect_timeout_seconds": 1.0,
    "llm_read_timeout_seconds": 0.5,
    "llm_max_attempts": 3,
    "llm_backoff_initial_seconds": 0.01,
    "llm_backoff_max_seconds": 0.05,
    "llm_retry_after_max_seconds": 5.0,
    "llm_breaker_failure_threshold": 3,
    "llm_breaker_reset_seconds": 0.3,
}


@pytest.fixture(scope="session")
async def llm_server() -> AsyncIterator[ScriptedLLMServer]:
    async with ScriptedLLMServer() as server:
        yield server


@pytest.fixture(scope="session")
async def llm_redis(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Redis]:
    client = create_redis(make_settings(tmp_path_factory.mktemp("llm")), redis_server.url)
    yield client
    await client.aclose()


def llm_settings(data_dir: Path, base_url: str, **overrides: object) -> Settings:
    return make_settings(data_dir, **({"llm_base_url": base_url} | FAST | overrides))


@pytest.fixture
async def make_gateway(
    llm_server: ScriptedLLMServer, llm_redis: Redis, tmp_path: Path
) -> AsyncIterator[GatewayFactory]:
    """Builds gateways on the scripted server; ``tracer_provider`` and settings may be given."""
    made: list[LLMGateway] = []

    async def make(
        *, tracer_provider: TracerProvider | None = None, **overrides: object
    ) -> LLMGateway:
        settings = llm_settings(tmp_path, llm_server.base_url, **overrides)
        gateway = LLMGateway.from_settings(settings.llm, llm_redis, tracer_provider=tracer_provider)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> LLMGateway:
    return await make_gateway()


def make_call(
    prompt: str,
    *,
    project_id: UUID | None = None,
    user_id: UUID | None = None,
    agent: AgentName = AgentName.BUSINESS_ANALYST,
    kind: LLMCallKind = LLMCallKind.QUESTIONS,
) -> LLMCall:
    return LLMCall(
        agent=agent,
        kind=kind,
        project_id=project_id or uuid4(),
        user_id=user_id or uuid4(),
        instructions="You are a careful analyst. Answer briefly.",
        prompt=prompt,
    )


def unique_key(label: str) -> str:
    return f"{label}-{uuid4().hex[:8]}"
