"""A circuit breaker per provider + model, held by each process.

closed --N consecutive failed requests--> open --reset time passes--> half-open: one probe
request goes through (others are refused) --probe succeeds--> closed, --probe fails--> open.

A failure is a model request that still failed after its retries (429, 5xx, timeout, reset,
unreadable response). The state lives in the process rather than in Redis: each replica learns
the provider's health from its own calls at no cost per call, and one replica's network trouble
does not shut the others out.
"""

import time
from collections.abc import Callable
from enum import StrEnum

from app.llm.exceptions import LLMCircuitOpenError
from app.llm.routing import ModelRoute


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        route: ModelRoute,
        *,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.route = route
        self._threshold = failure_threshold
        self._reset_seconds = reset_seconds
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._retry_in() <= 0:
            return BreakerState.HALF_OPEN
        return self._state

    def check(self) -> None:
        """Raise at once if a request would be refused now; changes nothing."""
        if self.state is BreakerState.OPEN or (
            self.state is BreakerState.HALF_OPEN and self._probing
        ):
            raise self._open_error()

    def acquire(self) -> bool:
        """Admit one request or raise; ``True`` when the admitted request is the probe."""
        self.check()
        if self.state is BreakerState.HALF_OPEN:
            self._state = BreakerState.HALF_OPEN
            self._probing = True
            return True
        return False

    # A request admitted before the circuit opened tells nothing about what came since: its
    # outcome counts only while the circuit is closed, or when it is the probe.

    def record_success(self, *, probe: bool) -> None:
        if probe or self._state is BreakerState.CLOSED:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probing = False

    def record_failure(self, *, probe: bool) -> None:
        if probe:
            self._open()
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._threshold:
                self._open()

    def record_abandoned(self, *, probe: bool) -> None:
        """The request ended without telling anything about the provider (e.g. cancelled)."""
        if probe:
            self._probing = False

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self._probing = False

    def _retry_in(self) -> float:
        return self._opened_at + self._reset_seconds - self._clock()

    def _open_error(self) -> LLMCircuitOpenError:
        retry_in = max(self._retry_in(), 0.0)
        return LLMCircuitOpenError(
            "The language model is failing repeatedly; calls are paused for a moment.",
            details={
                "provider": self.route.provider.value,
                "model": self.route.model_name,
                "retry_after_seconds": round(retry_in, 3),
            },
            retry_after=retry_in,
        )
