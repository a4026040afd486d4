"""Retries with backoff and a circuit breaker around every request to a model.

They sit in a pydantic-ai ``WrapperModel``, so each model request of a run is retried on its own
(a validation retry is a new request, not a repeat) and the errors seen are pydantic-ai's
categorised ones: rate limited, unavailable, server error, timeout, connection lost, each with
the provider's ``Retry-After`` already parsed. ``pydantic_ai.retries`` offers the same at the
HTTP transport, but there the last failure reaches the SDK as a connection error and the status
and ``Retry-After`` are lost, and an open circuit could not surface as our own error.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_ai import RunContext
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestRejectedError,
    ModelServerError,
    ModelUnavailableError,
)
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential_jitter

from app.core.config import LLMSettings
from app.llm.breaker import CircuitBreaker

T = TypeVar("T")

# Worth another try: the provider may answer next time. A connection error covers resets,
# refused connections and timeouts (ModelTimeoutError is one).
TRANSIENT_ERRORS: tuple[type[ModelAPIError], ...] = (
    ModelRateLimitError,
    ModelUnavailableError,
    ModelServerError,
    ModelConnectionError,
)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT_ERRORS) and not isinstance(error, ModelQuotaExceededError)


def is_provider_failure(error: BaseException) -> bool:
    """Counts against the breaker: the provider did not give a usable response.

    A refusal of the request itself (bad key, unknown model, spent quota) shows the provider is
    up, and so does an output that fails validation; neither opens the circuit.
    """
    return isinstance(error, ModelAPIError) and not isinstance(
        error, ModelRequestRejectedError | ModelQuotaExceededError
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    backoff_initial_seconds: float
    backoff_max_seconds: float
    retry_after_max_seconds: float

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> "RetryPolicy":
        return cls(
            max_attempts=settings.max_attempts,
            backoff_initial_seconds=settings.backoff_initial_seconds,
            backoff_max_seconds=settings.backoff_max_seconds,
            retry_after_max_seconds=settings.retry_after_max_seconds,
        )


class wait_backoff_or_retry_after(wait_base):  # noqa: N801 - tenacity's naming for strategies
    """Exponential backoff with jitter, but never shorter than the provider's ``Retry-After``."""

    def __init__(self, backoff: wait_base) -> None:
        self._backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        return max(self._backoff(retry_state), _retry_after(retry_state) or 0.0)


class stop_when_retry_after_exceeds(stop_base):  # noqa: N801
    """Give up at once when the provider asks for a longer wait than we are willing to make."""

    def __init__(self, limit_seconds: float) -> None:
        self._limit = limit_seconds

    def __call__(self, retry_state: RetryCallState) -> bool:
        retry_after = _retry_after(retry_state)
        return retry_after is not None and retry_after > self._limit


def _retry_after(retry_state: RetryCallState) -> float | None:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None else None
    return error.retry_after if isinstance(error, ModelAPIError) else None


@dataclass(slots=True)
class CallStats:
    """Counts one gateway call's repeated requests; shared by all its model requests."""

    retries: int = 0


class ResilientModel(WrapperModel):
    """Made per call: the breaker is shared by every call to the same provider + model."""

    def __init__(
        self, wrapped: Model, *, breaker: CircuitBreaker, policy: RetryPolicy, stats: CallStats
    ) -> None:
        super().__init__(wrapped)
        self._breaker = breaker
        self._policy = policy
        self._stats = stats

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        probe = self._breaker.acquire()
        try:
            response = await self._with_retries(
                lambda: self.wrapped.request(messages, model_settings, model_request_parameters)
            )
        except BaseException as error:
            self._record(error, probe=probe)
            raise
        self._breaker.record_success(probe=probe)
        return response

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncIterator[StreamedResponse]:
        probe = self._breaker.acquire()
        try:
            async with AsyncExitStack() as stack:
                # Only opening the stream is retried: once deltas have gone to the caller, a
                # repeat would deliver them twice, so a stream cut mid-way fails the call.
                stream = await self._with_retries(
                    lambda: stack.enter_async_context(
                        self.wrapped.request_stream(
                            messages, model_settings, model_request_parameters, run_context
                        )
                    )
                )
                yield stream
        except BaseException as error:
            self._record(error, probe=probe)
            raise
        self._breaker.record_success(probe=probe)

    async def _with_retries(self, attempt: Callable[[], Awaitable[T]]) -> T:
        policy = self._policy
        backoff = wait_exponential_jitter(
            multiplier=policy.backoff_initial_seconds,
            max=policy.backoff_max_seconds,
            jitter=policy.backoff_initial_seconds,
        )
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(policy.max_attempts)
            | stop_when_retry_after_exceeds(policy.retry_after_max_seconds),
            wait=wait_backoff_or_retry_after(backoff),
            before_sleep=self._count_retry,
            reraise=True,
        )

        async def once() -> T:  # tenacity awaits only what it sees is a coroutine function
            return await attempt()

        result: T = await retrying(once)
        return result

    def _count_retry(self, retry_state: RetryCallState) -> None:
        self._stats.retries += 1

    def _record(self, error: BaseException, *, probe: bool) -> None:
        if is_provider_failure(error):
            self._breaker.record_failure(probe=probe)
        elif isinstance(error, ModelAPIError):
            self._breaker.record_success(probe=probe)
        else:
            self._breaker.record_abandoned(probe=probe)
