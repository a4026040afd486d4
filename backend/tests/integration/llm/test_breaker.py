"""The circuit breaker per provider + model, through a full cycle against the scripted server."""

import asyncio
import time

import pytest
from pydantic import BaseModel

from app.llm.breaker import BreakerState
from app.llm.constants import AgentName
from app.llm.exceptions import LLMCircuitOpenError, LLMRequestRejectedError, LLMUnavailableError
from app.llm.limits import inflight_key
from app.llm.service import LLMGateway
from tests.checks import state_of
from tests.integration.llm.conftest import GatewayFactory, make_call, unique_key
from tests.llm_double import ScriptedLLMServer, directive

RESET_SECONDS = 0.3


class Verdict(BaseModel):
    accepted: bool


@pytest.fixture
async def one_shot_gateway(make_gateway: GatewayFactory) -> LLMGateway:
    """One attempt per request, so each failing call is one failure of the breaker."""
    return await make_gateway(
        llm_max_attempts=1,
        llm_breaker_failure_threshold=3,
        llm_breaker_reset_seconds=RESET_SECONDS,
        llm_agent_models='{"risk_manager": "other-model"}',
    )


async def _fail(gateway: LLMGateway, key: str, agent: AgentName = AgentName.QA_EXPERT) -> None:
    with pytest.raises(LLMUnavailableError):
        await gateway.generate(make_call(f"Go {directive(key=key, fault='500')}", agent=agent), str)


async def test_the_breaker_opens_refuses_at_once_probes_and_closes_again(
    one_shot_gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    gateway, key = one_shot_gateway, unique_key("breaker")
    breaker = gateway.breaker(AgentName.QA_EXPERT)
    for _ in range(3):
        assert state_of(breaker) is BreakerState.CLOSED
        await _fail(gateway, key)
    assert state_of(breaker) is BreakerState.OPEN

    # Open: refused at once, nothing sent, no Redis slot taken.
    call = make_call(f"Go {directive(key=key)}", agent=AgentName.QA_EXPERT)
    started = time.monotonic()
    with pytest.raises(LLMCircuitOpenError) as caught:
        await gateway.generate(call, str)
    assert time.monotonic() - started < 0.1
    assert len(llm_server.exchanges(key)) == 3
    assert await gateway.limits.redis.zcard(inflight_key(call.user_id)) == 0
    assert caught.value.code == "llm_circuit_open"
    assert caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "1"}

    # Half-open: a failing probe opens the circuit again at once.
    await asyncio.sleep(RESET_SECONDS)
    assert state_of(breaker) is BreakerState.HALF_OPEN
    await _fail(gateway, key)
    assert state_of(breaker) is BreakerState.OPEN

    # Half-open again: a probe that succeeds closes the circuit.
    await asyncio.sleep(RESET_SECONDS)
    result = await gateway.generate(call, str)
    assert result.usage.requests == 1
    assert state_of(breaker) is BreakerState.CLOSED
    await gateway.generate(call, str)
    assert len(llm_server.exchanges(key)) == 6


async def test_while_the_probe_is_out_other_calls_are_refused(
    one_shot_gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    gateway, key = one_shot_gateway, unique_key("probe")
    for _ in range(3):
        await _fail(gateway, key)
    await asyncio.sleep(RESET_SECONDS)

    probe = asyncio.create_task(
        gateway.generate(make_call(f"Probe {directive(key=key, delay=0.2)}"), str)
    )
    while len(llm_server.exchanges(key)) < 4:
        await asyncio.sleep(0.01)
    with pytest.raises(LLMCircuitOpenError):
        await gateway.generate(make_call(f"Other {directive(key=key)}"), str)

    await probe
    assert gateway.breaker(AgentName.QA_EXPERT).state is BreakerState.CLOSED


async def test_each_model_has_its_own_breaker(
    one_shot_gateway: LLMGateway, llm_server: ScriptedLLMServer
) -> None:
    gateway, key = one_shot_gateway, unique_key("per-model")
    for _ in range(3):
        await _fail(gateway, key, AgentName.RISK_MANAGER)

    assert gateway.breaker(AgentName.RISK_MANAGER).state is BreakerState.OPEN
    assert gateway.breaker(AgentName.QA_EXPERT).state is BreakerState.CLOSED
    result = await gateway.generate(make_call(f"Go {directive(key=key)}"), str)
    assert result.usage.model == "scripted-model"
    models = [exchange.body["model"] for exchange in llm_server.exchanges(key)]
    assert models == ["other-model"] * 3 + ["scripted-model"]


async def test_a_success_or_a_rejected_request_resets_the_failure_count(
    one_shot_gateway: LLMGateway,
) -> None:
    gateway, key = one_shot_gateway, unique_key("not-a-failure")
    breaker = gateway.breaker(AgentName.QA_EXPERT)
    await _fail(gateway, key)
    await _fail(gateway, key)
    await gateway.generate(make_call(f"Go {directive(key=key)}"), str)
    await _fail(gateway, key)
    await _fail(gateway, key)
    with pytest.raises(LLMRequestRejectedError) as caught:
        await gateway.generate(make_call(f"Go {directive(key=key, fault='400')}"), str)
    await _fail(gateway, key)
    await _fail(gateway, key)

    assert state_of(breaker) is BreakerState.CLOSED
    assert caught.value.code == "llm_request_rejected"
    assert caught.value.details == {
        "provider": "openai",
        "model": "scripted-model",
        "status": 400,
        "provider_message": "secret prompt echoed",
    }


async def test_a_call_whose_next_request_meets_an_open_circuit_fails_with_its_usage(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(
        llm_max_attempts=1, llm_breaker_failure_threshold=1, llm_breaker_reset_seconds=30
    )
    key = unique_key("mid-run")
    # The first answer is invalid and slow; while it is out, another call opens the circuit,
    # so the validation retry that follows is refused.
    slow = make_call(f"Ask {directive(key=key, fault='schema-invalid', times=1, delay=0.3)}")
    first_call = asyncio.create_task(gateway.generate(slow, Verdict))
    while not llm_server.exchanges(key):
        await asyncio.sleep(0.01)
    await _fail(gateway, unique_key("opener"))

    with pytest.raises(LLMCircuitOpenError) as caught:
        await first_call

    assert caught.value.usage is not None
    assert caught.value.usage.requests == 1
    assert len(llm_server.exchanges(key)) == 1
