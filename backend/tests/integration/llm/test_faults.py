"""Every fault of the scripted server, and what the gateway makes of it."""

import asyncio
import time

import pytest
from pydantic import BaseModel

from app.llm.exceptions import (
    LLMBadResponseError,
    LLMRateLimitedError,
    LLMStreamInterruptedError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from app.llm.limits import budget_key, inflight_key
from app.llm.service import LLMGateway
from tests.checks import reply
from tests.e2e.helpers import free_port
from tests.integration.llm.conftest import GatewayFactory, make_call, unique_key
from tests.llm_double import ScriptedLLMServer, directive
from tests.llm_double.script import DEFAULT_TEXT


class Verdict(BaseModel):
    accepted: bool
    reason: str


async def test_a_429_is_retried_after_the_wait_its_retry_after_asks_for(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("429-once")
    call = make_call(f"Judge {directive(key=key, fault='429', times=1, retry_after=1)}")

    result = await gateway.generate(call, Verdict)

    refused, answered = llm_server.exchanges(key)
    assert (refused.status, answered.status) == (429, 200)
    # The backoff alone is at most 0.05 s here; only Retry-After explains a one-second pause.
    assert answered.received_at - refused.received_at >= 1.0
    assert result.usage.retries == 1
    assert result.usage.requests == 2  # the refused one reached the provider too


async def test_a_429_that_persists_ends_in_a_rate_limited_error_after_every_attempt(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("429-always")
    with pytest.raises(LLMRateLimitedError) as caught:
        await gateway.generate(make_call(f"Judge {directive(key=key, fault='429')}"), Verdict)

    assert len(llm_server.exchanges(key)) == 3
    assert caught.value.code == "llm_rate_limited"
    assert caught.value.status_code == 503
    assert caught.value.usage is not None
    assert caught.value.usage.retries == 2
    assert "slow down" not in caught.value.message  # the provider's words stay out


async def test_a_retry_after_longer_than_we_wait_fails_at_once_and_passes_it_on(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_retry_after_max_seconds=2)
    key = unique_key("429-long")
    started = time.monotonic()

    with pytest.raises(LLMRateLimitedError) as caught:
        await gateway.generate(
            make_call(f"Judge {directive(key=key, fault='429', retry_after=30)}"), Verdict
        )

    assert time.monotonic() - started < 2
    assert len(llm_server.exchanges(key)) == 1
    assert caught.value.headers == {"Retry-After": "30"}


async def test_a_500_is_retried_with_backoff_and_the_call_succeeds(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("500-twice")
    result = await gateway.generate(
        make_call(f"Say {directive(key=key, fault='500', times=2)}"), str
    )

    assert result.output == DEFAULT_TEXT
    assert [exchange.status for exchange in llm_server.exchanges(key)] == [500, 500, 200]
    assert result.usage.retries == 2


async def test_a_500_that_persists_ends_in_an_unavailable_error(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("500-always")
    with pytest.raises(LLMUnavailableError) as caught:
        await gateway.generate(make_call(f"Say {directive(key=key, fault='500')}"), str)

    assert len(llm_server.exchanges(key)) == 3
    assert caught.value.details == {"provider": "openai", "model": "scripted-model", "status": 500}


async def test_a_read_timeout_is_not_retried_on_a_server_that_does_not_cancel_abandoned_work(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    # The scripted server sits at a base URL, so by default it is not assumed to cancel: a
    # repeat would queue behind the generation the first request left running.
    key = unique_key("hang-no-cancel")
    with pytest.raises(LLMTimeoutError) as caught:
        await gateway.generate(make_call(f"Say {directive(key=key, fault='hang', times=1)}"), str)

    (hung,) = llm_server.exchanges(key)
    assert hung.disconnected_at is not None
    assert 0.4 <= hung.disconnected_at - hung.received_at < 5
    assert caught.value.code == "llm_timeout"
    usage = caught.value.usage
    assert usage is not None
    assert (usage.requests, usage.retries) == (1, 0)
    # The server read the prompt; it reported nothing, so the prompt is charged as estimated.
    assert usage.input_tokens == usage.estimated_tokens > 0


async def test_a_hang_past_the_read_timeout_is_retried_when_the_provider_cancels(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_cancels_abandoned_requests=True)
    key = unique_key("hang-once")
    result = await gateway.generate(
        make_call(f"Say {directive(key=key, fault='hang', times=1)}"), str
    )

    assert result.output == DEFAULT_TEXT
    hung, answered = llm_server.exchanges(key)
    assert hung.disconnected_at is not None
    assert 0.4 <= hung.disconnected_at - hung.received_at < 5
    assert answered.fault is None
    assert result.usage.retries == 1
    assert result.usage.requests == 2


async def test_a_model_that_never_answers_ends_in_a_timeout_error(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(
        llm_max_attempts=2, llm_read_timeout_seconds=0.3, llm_cancels_abandoned_requests=True
    )
    key = unique_key("hang-always")
    with pytest.raises(LLMTimeoutError) as caught:
        await gateway.generate(make_call(f"Say {directive(key=key, fault='hang')}"), str)

    assert caught.value.code == "llm_timeout"
    assert caught.value.status_code == 504
    assert len(llm_server.exchanges(key)) == 2


async def test_a_stream_cut_mid_way_fails_the_call_after_the_pieces_already_delivered(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("cut")
    received: list[str] = []

    async def on_delta(delta: str) -> None:
        received.append(delta)

    with pytest.raises(LLMStreamInterruptedError) as caught:
        await gateway.stream_text(
            make_call(f"Write {directive(key=key, fault='stream-cut', chunks=3)}"), on_delta
        )

    assert received == ["The ", "scripted ", "model "]
    assert len(llm_server.exchanges(key)) == 1  # never repeated: the pieces are already out
    assert caught.value.code == "llm_stream_interrupted"
    assert caught.value.usage is not None
    assert caught.value.usage.streamed


async def test_a_response_that_is_not_json_ends_in_a_bad_response_error_without_retrying(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("not-json")
    with pytest.raises(LLMBadResponseError) as caught:
        await gateway.generate(make_call(f"Say {directive(key=key, fault='invalid-json')}"), str)

    assert caught.value.code == "llm_bad_response"
    assert len(llm_server.exchanges(key)) == 1


async def test_a_server_that_refuses_connections_ends_in_an_unavailable_error(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(llm_base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(LLMUnavailableError) as caught:
        await gateway.generate(make_call("Say hello"), str)

    assert caught.value.usage is not None
    assert caught.value.usage.retries == 2
    assert caught.value.usage.requests == 0


async def test_cancelling_the_caller_cancels_the_http_call_and_frees_the_limits(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_read_timeout_seconds=30)
    key = unique_key("cancel")
    call = make_call(f"Say {directive(key=key, fault='hang')}")
    task = asyncio.create_task(gateway.generate(call, str))
    while not llm_server.exchanges(key):
        await asyncio.sleep(0.01)
    cancelled_at = time.monotonic()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    (exchange,) = llm_server.exchanges(key)
    for _ in range(100):
        if exchange.disconnected_at is not None:
            break
        await asyncio.sleep(0.01)
    assert exchange.disconnected_at is not None
    assert exchange.disconnected_at - cancelled_at < 1
    redis = gateway.limits.redis
    assert await redis.zcard(inflight_key(call.user_id)) == 0
    # Nothing stays reserved; the prompt had gone, so its estimate is charged.
    stored = await reply(redis.hgetall(budget_key(call.project_id)))
    assert set(stored) == {b"used"}
    assert int(stored[b"used"]) > 0
