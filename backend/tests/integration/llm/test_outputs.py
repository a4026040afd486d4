"""Typed outputs, validation retries with feedback, streaming and the usage record."""

import time

import pytest
from pydantic import BaseModel, Field

from app.core.config import LLMOutputMode, LLMProvider
from app.llm.constants import AgentName
from app.llm.exceptions import LLMInvalidOutputError
from app.llm.service import LLMGateway
from tests.integration.llm.conftest import GatewayFactory, make_call, unique_key
from tests.llm_double import ScriptedLLMServer, directive
from tests.llm_double.script import DEFAULT_TEXT


class Question(BaseModel):
    text: str = Field(min_length=3)
    options: list[str] = Field(max_length=5)


class Questions(BaseModel):
    expert: str
    questions: list[Question] = Field(min_length=1, max_length=5)
    confidence: int = Field(ge=0, le=100)


async def test_a_text_answer_comes_back_with_its_usage(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("text")
    result = await gateway.generate(make_call(f"Say hello {directive(key=key)}"), str)

    assert result.output == DEFAULT_TEXT
    (exchange,) = llm_server.exchanges(key)
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens) == exchange.usage
    assert usage.total_tokens == sum(exchange.usage)
    assert (usage.requests, usage.retries, usage.output_retries) == (1, 0, 0)
    assert usage.model == "scripted-model"
    assert usage.provider is LLMProvider.OPENAI
    assert usage.agent is AgentName.BUSINESS_ANALYST
    assert usage.latency_ms > 0
    assert not usage.streamed


@pytest.mark.parametrize("mode", list(LLMOutputMode))
async def test_structured_output_is_typed_in_every_output_mode(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer, mode: LLMOutputMode
) -> None:
    gateway = await make_gateway(llm_output_mode=mode)
    key = unique_key(f"mode-{mode}")
    result = await gateway.generate(make_call(f"Ask the user {directive(key=key)}"), Questions)

    assert isinstance(result.output, Questions)
    assert result.output.questions[0].text.startswith("sample")
    (exchange,) = llm_server.exchanges(key)
    response_format = exchange.body.get("response_format") or {}
    system_text = " ".join(
        str(message["content"])
        for message in exchange.body["messages"]
        if message["role"] == "system"
    )
    how_asked = {
        "tool": bool(exchange.body.get("tools")),
        "json_schema": response_format.get("type") == "json_schema",
        "schema_in_prompt": '"confidence"' in system_text,
    }
    assert (
        how_asked
        == {
            LLMOutputMode.TOOL: {"tool": True, "json_schema": False, "schema_in_prompt": False},
            LLMOutputMode.NATIVE: {"tool": False, "json_schema": True, "schema_in_prompt": False},
            LLMOutputMode.PROMPTED: {"tool": False, "json_schema": False, "schema_in_prompt": True},
        }[mode]
    )


@pytest.mark.parametrize("fault", ["schema-invalid", "output-not-json"])
async def test_an_invalid_output_is_sent_back_with_its_errors_and_then_accepted(
    gateway: LLMGateway, llm_server: ScriptedLLMServer, fault: str
) -> None:
    key = unique_key(fault)
    call = make_call(f"Ask the user {directive(key=key, fault=fault, times=1)}")
    result = await gateway.generate(call, Questions)

    assert isinstance(result.output, Questions)
    first, second = llm_server.exchanges(key)
    assert first.fault is not None
    assert second.fault is None
    assert not first.retry_feedback()
    feedback = " ".join(second.retry_feedback())
    assert ("questions" in feedback) if fault == "schema-invalid" else ("json" in feedback.lower())
    assert result.usage.output_retries == 1
    assert result.usage.requests == 2
    assert result.usage.retries == 0
    assert result.usage.input_tokens == first.usage[0] + second.usage[0]


async def test_output_that_stays_invalid_ends_in_a_clear_error_after_bounded_retries(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(llm_output_retries=2)
    key = unique_key("always-invalid")

    with pytest.raises(LLMInvalidOutputError) as caught:
        await gateway.generate(
            make_call(f"Ask {directive(key=key, fault='schema-invalid')}"), Questions
        )

    assert caught.value.code == "llm_invalid_output"
    assert caught.value.status_code == 502
    assert len(llm_server.exchanges(key)) == 3
    assert caught.value.usage is not None
    assert caught.value.usage.requests == 3
    assert caught.value.usage.output_retries == 2


async def test_streamed_text_reaches_the_callback_piece_by_piece_as_it_arrives(
    gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    key = unique_key("stream")
    arrivals: list[tuple[float, str]] = []

    async def on_delta(delta: str) -> None:
        arrivals.append((time.monotonic(), delta))

    call = make_call(f"Write a section {directive(key=key, chunk_delay=0.05)}")
    result = await gateway.stream_text(call, on_delta)

    deltas = [delta for _, delta in arrivals]
    assert "".join(deltas) == result.output == DEFAULT_TEXT
    assert len(deltas) == len(DEFAULT_TEXT.split(" "))
    # The first piece arrived while the server was still writing the rest.
    assert arrivals[-1][0] - arrivals[0][0] >= 0.05 * (len(deltas) - 2)
    (exchange,) = llm_server.exchanges(key)
    assert exchange.streamed
    assert result.usage.streamed
    assert (result.usage.input_tokens, result.usage.output_tokens) == exchange.usage
