"""Project token budget and per-user concurrency, under concurrent calls, in the real Redis."""

import asyncio
from uuid import UUID, uuid4

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

from app.llm.exceptions import (
    LLMBudgetExceededError,
    LLMCallTokenLimitError,
    LLMConcurrencyLimitError,
    LLMError,
    LLMUnavailableError,
)
from app.llm.limits import budget_key, inflight_key
from app.llm.schemas import LLMResult
from app.llm.service import LLMGateway
from app.resources import Resources
from tests.checks import details_of, reply
from tests.factories import auth_headers, create_project, create_user
from tests.integration.llm.conftest import GatewayFactory, make_call, unique_key
from tests.llm_double import ScriptedLLMServer, directive

RESERVATION = 1_000


def _outcomes(results: list[LLMResult[str] | BaseException]) -> list[str]:
    return sorted(
        result.code if isinstance(result, LLMError) else type(result).__name__ for result in results
    )


async def test_concurrent_calls_beyond_the_budget_are_refused_before_anything_is_sent(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(
        llm_project_token_budget=3 * RESERVATION,
        llm_call_token_limit=RESERVATION,
        llm_user_concurrency=10,
    )
    project, key = uuid4(), unique_key("budget")
    # The server holds each call long enough for all five to ask for a reservation first.
    calls = [make_call(f"Go {directive(key=key, delay=0.3)}", project_id=project) for _ in range(5)]

    results = await asyncio.gather(
        *(gateway.generate(call, str) for call in calls), return_exceptions=True
    )

    assert _outcomes(results) == ["LLMResult"] * 3 + ["llm_budget_exceeded"] * 2
    assert len(llm_server.exchanges(key)) == 3
    spent = sum(result.usage.total_tokens for result in results if isinstance(result, LLMResult))
    stored = await reply(gateway.limits.redis.hgetall(budget_key(project)))
    assert stored == {b"used": str(spent).encode()}  # settled to real usage, nothing reserved
    refusal = next(result for result in results if isinstance(result, LLMBudgetExceededError))
    assert refusal.status_code == 429
    assert refusal.details == {
        "budget": 3 * RESERVATION,
        "used": 0,
        "reserved": 3 * RESERVATION,
        "requested": RESERVATION,
    }


async def test_the_budget_is_charged_what_calls_really_use(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_project_token_budget=150, llm_call_token_limit=100)
    project, key = uuid4(), unique_key("settle")
    call = make_call(f"Go {directive(key=key)}", project_id=project)

    spent, refusal = 0, None
    for _ in range(10):
        try:
            spent += (await gateway.generate(call, str)).usage.total_tokens
        except LLMBudgetExceededError as error:
            refusal = error
            break

    assert refusal is not None
    # Each call costs far less than its 100-token reservation, so several fit in 150.
    calls_made = len(llm_server.exchanges(key))
    assert calls_made == 1 + (150 - 100) // (spent // calls_made)
    assert await gateway.limits.usage(project) == spent
    assert details_of(refusal)["used"] == spent


async def test_concurrent_calls_beyond_a_users_limit_are_refused_and_others_are_not(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_user_concurrency=2)
    busy_user, other_user, key = uuid4(), uuid4(), unique_key("concurrency")
    prompt = f"Go {directive(key=key, delay=0.3)}"
    calls = [make_call(prompt, user_id=busy_user) for _ in range(4)]
    calls.append(make_call(prompt, user_id=other_user))

    results = await asyncio.gather(
        *(gateway.generate(call, str) for call in calls), return_exceptions=True
    )

    assert _outcomes(results[:4]) == ["LLMResult"] * 2 + ["llm_concurrency_limited"] * 2
    assert isinstance(results[4], LLMResult)
    assert len(llm_server.exchanges(key)) == 3
    refusal = next(result for result in results if isinstance(result, LLMConcurrencyLimitError))
    assert (refusal.status_code, refusal.details) == (429, {"limit": 2})
    # Slots are given back: the user can call again, and no reservation was left behind.
    assert await gateway.limits.redis.zcard(inflight_key(busy_user)) == 0
    await gateway.generate(make_call(f"Go {directive(key=key)}", user_id=busy_user), str)


async def test_a_refusal_by_the_budget_leaves_no_slot_taken(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(llm_project_token_budget=10, llm_call_token_limit=100)
    call = make_call("Go")

    with pytest.raises(LLMBudgetExceededError):
        await gateway.generate(call, str)

    redis = gateway.limits.redis
    assert await redis.zcard(inflight_key(call.user_id)) == 0
    assert await redis.exists(budget_key(call.project_id)) == 0


async def test_a_failed_call_gives_back_its_reservation_and_its_slot(
    gateway: LLMGateway,
) -> None:
    key = unique_key("failed")
    call = make_call(f"Go {directive(key=key, fault='500')}")

    with pytest.raises(LLMUnavailableError):
        await gateway.generate(call, str)

    redis = gateway.limits.redis
    assert await reply(redis.hgetall(budget_key(call.project_id))) == {b"used": b"0"}
    assert await redis.zcard(inflight_key(call.user_id)) == 0


async def test_leases_left_by_a_dead_process_expire(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(
        llm_project_token_budget=1_000, llm_call_token_limit=600, llm_user_concurrency=1
    )
    call = make_call(f"Go {directive(key=unique_key('lease'))}")
    redis = gateway.limits.redis
    # What a process killed mid-call leaves: a reservation and a slot whose leases ran out.
    await reply(redis.hset(budget_key(call.project_id), "r:dead", "600:1"))
    await redis.zadd(inflight_key(call.user_id), {"dead": 1})

    await gateway.generate(call, str)

    stored = await reply(redis.hgetall(budget_key(call.project_id)))
    assert list(stored) == [b"used"]
    assert await redis.zcard(inflight_key(call.user_id)) == 0


async def test_a_call_over_its_own_token_limit_fails_and_its_tokens_are_still_charged(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_call_token_limit=5)
    key = unique_key("call-limit")
    call = make_call(f"A prompt longer than five tokens {directive(key=key)}")

    with pytest.raises(LLMCallTokenLimitError) as caught:
        await gateway.generate(call, str)

    (exchange,) = llm_server.exchanges(key)
    assert caught.value.code == "llm_call_token_limit"
    assert details_of(caught.value)["limit"] == 5
    assert await gateway.limits.usage(call.project_id) == sum(exchange.usage)


async def test_if_redis_fails_while_settling_the_answer_still_comes_back(
    gateway: LLMGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(**_: object) -> None:
        raise RedisConnectionError("redis went away")

    monkeypatch.setattr(gateway.limits, "_settle", unreachable)
    call = make_call(f"Go {directive(key=unique_key('settle-fails'))}")

    with capture_logs() as logs:
        result = await gateway.generate(call, str)

    assert result.output
    assert [log["event"] for log in logs if log["log_level"] == "warning"] == [
        "llm_limits_release_failed"
    ]
    # The slot is given back all the same; the reservation waits for its lease to end.
    assert await gateway.limits.redis.zcard(inflight_key(call.user_id)) == 0


async def test_a_project_deleted_during_a_call_leaves_no_budget_key_without_a_ttl(
    make_gateway: GatewayFactory,
    llm_server: ScriptedLLMServer,
    client: httpx.AsyncClient,
    resources: Resources,
) -> None:
    owner = auth_headers(resources, await create_user(resources, "deleted-mid-call@example.com"))
    project_id = UUID(str((await create_project(client, owner, "Deleted mid-call"))["id"]))
    gateway = await make_gateway(llm_read_timeout_seconds=10.0)
    key = unique_key("deleted-mid-call")
    call = make_call(f"Go {directive(key=key, delay=1.0)}", project_id=project_id)
    redis = gateway.limits.redis

    held = asyncio.ensure_future(gateway.generate(call, str))
    async with asyncio.timeout(10):
        while not llm_server.exchanges(key):
            await asyncio.sleep(0.01)
    # The call is with the model, under its reservation, when the project goes.
    fields = await reply(redis.hkeys(budget_key(project_id)))
    assert [field[:2] for field in fields] == [b"r:"]
    deleted = await client.delete(f"/api/v1/projects/{project_id}", headers=owner)
    assert deleted.status_code == 204
    assert await redis.exists(budget_key(project_id)) == 0
    result = await held

    assert result.usage.total_tokens > 0  # the call did finish and spend
    assert await redis.ttl(budget_key(project_id)) == -2  # no key, so none without a TTL
    assert [key async for key in redis.scan_iter(match=f"proj:{project_id}:*")] == []
