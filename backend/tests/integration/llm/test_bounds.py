"""Calls are bounded (max_tokens, a stall timeout, no repeats that stack on a busy server),
honest about refusals, and fully counted: failed, repeated and streamed requests alike."""

import time
from typing import Any

import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from app.core.config import LLMCallKind
from app.llm.exceptions import (
    LLMInvalidOutputError,
    LLMRequestRejectedError,
    LLMStreamStalledError,
    LLMTimeoutError,
)
from app.llm.limits import budget_key, user_budget_key
from app.llm.service import LLMGateway
from tests.checks import reply
from tests.integration.llm.conftest import GatewayFactory, make_call, unique_key
from tests.llm_double import ScriptedLLMServer, directive
from tests.llm_double.script import DEFAULT_TEXT

VALIDATION_MESSAGE = "Input should be 'text' or 'json_object'"


class Verdict(BaseModel):
    accepted: bool
    reason: str


async def _ignore(_: Any) -> None:
    return None


async def _settled(gateway: LLMGateway, key: str) -> int:
    stored = await reply(gateway.limits.redis.hgetall(key))
    assert set(stored) == {b"used"}, "a reservation was left behind"
    return int(stored[b"used"])


# --- max_tokens -------------------------------------------------------------------------------


async def test_every_request_of_every_call_kind_asks_for_bounded_output(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    limits = {kind: 100 + index for index, kind in enumerate(LLMCallKind)}
    gateway = await make_gateway(
        **{f"llm_max_tokens_{kind.value}": tokens for kind, tokens in limits.items()}
    )
    keys: dict[LLMCallKind, str] = {}
    for kind in LLMCallKind:
        keys[kind] = unique_key(f"bound-{kind.value}")
        prompt = f"Go {directive(key=keys[kind])}"
        if kind is LLMCallKind.SECTION:
            await gateway.stream_text(make_call(prompt, kind=kind), _ignore)
        elif kind is LLMCallKind.OPENING:
            await gateway.stream_output(make_call(prompt, kind=kind), Verdict, _ignore)
        else:
            await gateway.generate(make_call(prompt, kind=kind), Verdict)

    for kind, key in keys.items():
        (exchange,) = llm_server.exchanges(key)
        sent = exchange.body.get("max_completion_tokens", exchange.body.get("max_tokens"))
        assert sent == limits[kind], kind


async def test_a_validation_retry_is_bounded_like_the_first_request(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_max_tokens_questions=77)
    key = unique_key("bound-retry")
    await gateway.generate(
        make_call(f"Judge {directive(key=key, fault='schema-invalid', times=1)}"), Verdict
    )

    exchanges = llm_server.exchanges(key)
    assert len(exchanges) == 2
    assert [
        item.body.get("max_completion_tokens", item.body.get("max_tokens")) for item in exchanges
    ] == [77, 77]


# --- no work stacked on a busy server ---------------------------------------------------------


async def test_a_stalled_stream_is_cut_once_not_queued_again(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    # Generous attempts and a long read timeout: only the stall timeout can end this.
    gateway = await make_gateway(
        llm_max_attempts=4, llm_read_timeout_seconds=20, llm_stream_stall_seconds=0.4
    )
    key = unique_key("stall")
    received: list[str] = []

    async def on_delta(delta: str) -> None:
        received.append(delta)

    started = time.monotonic()
    with pytest.raises(LLMStreamStalledError) as caught:
        await gateway.stream_text(
            make_call(f"Write {directive(key=key, fault='stream-stall', chunks=2)}"), on_delta
        )

    assert time.monotonic() - started < 5
    (exchange,) = llm_server.exchanges(key)  # cut once, never sent again
    assert exchange.disconnected_at is not None
    assert received == ["The ", "scripted "]
    error = caught.value
    assert (error.code, error.status_code) == ("llm_stream_stalled", 504)
    assert error.details == {
        "provider": "openai",
        "model": "scripted-model",
        "stall_seconds": 0.4,
    }
    assert error.usage is not None
    assert (error.usage.requests, error.usage.retries, error.usage.streamed) == (1, 0, True)
    # The prompt went and two pieces came back, unreported: both are charged, as estimates.
    assert error.usage.output_tokens > 0
    assert error.usage.estimated_tokens == error.usage.input_tokens + error.usage.output_tokens
    assert error.usage.error == "llm_stream_stalled"


async def test_a_stream_that_never_starts_is_given_up_once_on_a_server_that_does_not_cancel(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_max_attempts=4, llm_read_timeout_seconds=0.4)
    key = unique_key("stream-hang")
    with pytest.raises(LLMTimeoutError) as caught:
        await gateway.stream_text(make_call(f"Write {directive(key=key, fault='hang')}"), _ignore)

    assert len(llm_server.exchanges(key)) == 1
    assert caught.value.usage is not None
    assert caught.value.usage.retries == 0


# --- refusals -----------------------------------------------------------------------------------


async def test_a_500_carrying_a_validation_message_fails_at_once_as_a_rejected_request(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_max_attempts=4)
    key = unique_key("reject-500")
    call = make_call(f"Judge {directive(key=key, fault='500', message=VALIDATION_MESSAGE)}")

    with capture_logs() as logs, pytest.raises(LLMRequestRejectedError) as caught:
        await gateway.generate(call, Verdict)

    assert len(llm_server.exchanges(key)) == 1
    error = caught.value
    assert error.code == "llm_request_rejected"
    assert (
        error.message == f"The model provider refused the request (HTTP 500): {VALIDATION_MESSAGE}"
    )
    assert error.details == {
        "provider": "openai",
        "model": "scripted-model",
        "status": 500,
        "provider_message": VALIDATION_MESSAGE,
    }
    (logged,) = [log for log in logs if log["event"] == "llm_request_rejected"]
    assert logged["status"] == 500
    assert logged["provider_message"] == VALIDATION_MESSAGE
    assert logged["project_id"] == str(call.project_id)
    (summary,) = [log for log in logs if log["event"] == "llm_call"]
    assert (summary["error"], summary["requests"], summary["retries"]) == (
        "llm_request_rejected",
        1,
        0,
    )
    # A refusal shows the provider is up: it does not count towards opening the circuit.
    assert gateway.breaker(call.agent).state.value == "closed"


async def test_a_400_fails_at_once_with_the_providers_message(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("reject-400")
    said = "max_tokens must be at most 8192"
    with pytest.raises(LLMRequestRejectedError) as caught:
        await gateway.generate(
            make_call(f"Say {directive(key=key, fault='400', message=said)}"), str
        )

    assert len(llm_server.exchanges(key)) == 1
    assert caught.value.message == f"The model provider refused the request (HTTP 400): {said}"


async def test_a_500_without_a_validation_message_is_still_retried(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("crash-500")
    result = await gateway.generate(
        make_call(f"Say {directive(key=key, fault='500', times=1, message='out of memory')}"), str
    )
    assert result.output == DEFAULT_TEXT
    assert [item.status for item in llm_server.exchanges(key)] == [500, 200]


# --- usage of every call ------------------------------------------------------------------------


async def test_a_streamed_answer_without_reported_usage_is_charged_an_estimate(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("stream-no-usage")
    call = make_call(f"Write {directive(key=key, usage=False)}")

    with capture_logs() as logs:
        result = await gateway.stream_text(call, _ignore)

    usage = result.usage
    assert result.output == DEFAULT_TEXT
    # About four characters a token: the reply's 47 characters are 12 tokens.
    assert usage.output_tokens == 12
    assert usage.input_tokens > 0
    assert usage.estimated_tokens == usage.input_tokens + usage.output_tokens
    (logged,) = [log for log in logs if log["event"] == "llm_call"]
    assert (logged["input_tokens"], logged["output_tokens"]) == (
        usage.input_tokens,
        usage.output_tokens,
    )
    assert logged["streamed"] is True
    total = usage.input_tokens + usage.output_tokens
    assert await _settled(gateway, budget_key(call.project_id)) == total
    assert await _settled(gateway, user_budget_key(call.user_id)) == total


async def test_a_streamed_answer_with_reported_usage_is_charged_exactly_that(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("stream-usage")
    call = make_call(f"Write {directive(key=key)}")
    result = await gateway.stream_text(call, _ignore)

    (exchange,) = llm_server.exchanges(key)
    assert (result.usage.input_tokens, result.usage.output_tokens) == exchange.usage
    assert result.usage.estimated_tokens == 0
    assert await _settled(gateway, user_budget_key(call.user_id)) == sum(exchange.usage)


async def test_a_call_that_fails_validation_every_time_is_fully_counted_and_charged(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("invalid-always")
    call = make_call(f"Judge {directive(key=key, fault='schema-invalid')}")

    with capture_logs() as logs, pytest.raises(LLMInvalidOutputError) as caught:
        await gateway.generate(call, Verdict)

    exchanges = llm_server.exchanges(key)
    assert len(exchanges) == 3  # the answer and two validation retries
    usage = caught.value.usage
    assert usage is not None
    assert (usage.requests, usage.output_retries, usage.retries) == (3, 2, 0)
    assert usage.input_tokens == sum(item.usage[0] for item in exchanges)
    assert usage.output_tokens == sum(item.usage[1] for item in exchanges)
    assert usage.error == "llm_invalid_output"
    (logged,) = [log for log in logs if log["event"] == "llm_call"]
    assert (logged["requests"], logged["output_retries"]) == (3, 2)
    spent = usage.input_tokens + usage.output_tokens
    assert await _settled(gateway, budget_key(call.project_id)) == spent
    assert await _settled(gateway, user_budget_key(call.user_id)) == spent


async def test_repeated_requests_are_all_counted(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("500-then-ok")
    result = await gateway.generate(
        make_call(f"Say {directive(key=key, fault='500', times=2)}"), str
    )
    assert (result.usage.requests, result.usage.retries) == (3, 2)
