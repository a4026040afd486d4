"""The breaker's state machine, on a clock the test moves."""

import pytest

from app.core.config import LLMProvider
from app.llm.breaker import BreakerState, CircuitBreaker
from app.llm.exceptions import LLMCircuitOpenError
from app.llm.routing import ModelRoute
from tests.checks import details_of, state_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    route = ModelRoute(LLMProvider.OPENAI, "m")
    return CircuitBreaker(route, failure_threshold=2, reset_seconds=10, clock=clock)


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        breaker.record_failure(probe=breaker.acquire())


def test_it_opens_after_consecutive_failures_only(breaker: CircuitBreaker) -> None:
    breaker.record_failure(probe=False)
    breaker.record_success(probe=False)
    breaker.record_failure(probe=False)
    assert state_of(breaker) is BreakerState.CLOSED
    breaker.record_failure(probe=False)
    assert state_of(breaker) is BreakerState.OPEN


def test_open_refuses_with_the_time_left(breaker: CircuitBreaker, clock: Clock) -> None:
    _open(breaker)
    clock.now += 4
    with pytest.raises(LLMCircuitOpenError) as caught:
        breaker.acquire()
    assert details_of(caught.value)["retry_after_seconds"] == 6
    assert caught.value.headers == {"Retry-After": "6"}


def test_half_open_admits_one_probe_at_a_time(breaker: CircuitBreaker, clock: Clock) -> None:
    _open(breaker)
    clock.now += 10
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert breaker.acquire() is True
    with pytest.raises(LLMCircuitOpenError):
        breaker.acquire()
    breaker.record_success(probe=True)
    assert state_of(breaker) is BreakerState.CLOSED


def test_an_abandoned_probe_lets_the_next_call_probe(breaker: CircuitBreaker, clock: Clock) -> None:
    _open(breaker)
    clock.now += 10
    breaker.record_abandoned(probe=breaker.acquire())
    breaker.record_failure(probe=breaker.acquire())
    assert state_of(breaker) is BreakerState.OPEN


def test_outcomes_of_requests_admitted_before_it_opened_change_nothing(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    early = [breaker.acquire() for _ in range(3)]
    _open(breaker)
    breaker.record_success(probe=early[0])
    assert state_of(breaker) is BreakerState.OPEN
    clock.now += 9
    breaker.record_failure(probe=early[1])  # does not restart the wait
    clock.now += 1
    assert state_of(breaker) is BreakerState.HALF_OPEN
    probe = breaker.acquire()
    breaker.record_success(probe=early[2])  # not the probe: the circuit stays half-open
    assert state_of(breaker) is BreakerState.HALF_OPEN
    breaker.record_success(probe=probe)
    assert state_of(breaker) is BreakerState.CLOSED
