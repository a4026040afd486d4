"""Retries with backoff and a circuit breaker around every request to a model.

They sit in a pydantic-ai ``WrapperModel``, so each model request of a run is retried on its own
(a validation retry is a new request, not a repeat) and the errors seen are pydantic-ai's
categorised ones: rate limited, unavailable, server error, timeout, connection lost, each with
the provider's ``Retry-After`` already parsed. ``pydantic_ai.retries`` offers the same at the
HTTP transport, but there the last failure reaches the SDK as a connection error and the status
and ``Retry-After`` are lost, and an open circuit could not surface as our own error.

Work never stacks on a busy server. A request that timed out after it was sent may still be
generating on the server: only a provider that cancels abandoned generations
(``JEEX_LLM_CANCELS_ABANDONED_REQUESTS``) gets it again, else a retry would queue behind the
discarded one on a single-slot server. A refusal of the request (4xx, or a 5xx whose body is a
validation message) is never retried. A stream that has begun and then falls silent for
``JEEX_LLM_STREAM_STALL_SECONDS`` is cut, once: what it sent is already with the caller.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from pydantic_ai import RunContext
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestRejectedError,
    ModelServerError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from pydantic_ai.messages import ModelMessage, ModelResponse, ModelResponseStreamEvent
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential_jitter

from app.core.config import LLMSettings
from app.llm.accounting import CallStats, reported_nothing, request_text, response_text
from app.llm.breaker import CircuitBreaker
from app.llm.rejections import is_validation_refusal

T = TypeVar("T")

# Worth another try: the provider may answer next time. A connection error covers resets,
# refused connections and timeouts (ModelTimeoutError is one).
TRANSIENT_ERRORS: tuple[type[ModelAPIError], ...] = (
    ModelRateLimitError,
    ModelUnavailableError,
    ModelServerError,
    ModelConnectionError,
)


class StreamStalledError(ModelTimeoutError):
    """A stream that had begun sent nothing for the stall timeout; raised by the gateway."""

    def __init__(self, model_name: str, seconds: float) -> None:
        super().__init__(model_name, f"no stream event for {seconds:g} s", phase="read")
        self.seconds = seconds


def is_refusal(error: BaseException) -> bool:
    """The provider refused the request itself: sending it again unchanged cannot succeed."""
    return isinstance(
        error, ModelRequestRejectedError | ModelQuotaExceededError
    ) or is_validation_refusal(error)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT_ERRORS) and not is_refusal(error)


def reached_provider(error: BaseException) -> bool:
    """Whether the failed request got to the provider (a refused connection did not)."""
    return not (isinstance(error, ModelConnectionError) and error.phase in ("pool", "connect"))


def left_work_behind(error: BaseException) -> bool:
    """The request was sent and then given up on: the server may still be generating."""
    return isinstance(error, ModelTimeoutError) and reached_provider(error)


def is_provider_failure(error: BaseException) -> bool:
    """Counts against the breaker: the provider did not give a usable response.

    A refusal of the request itself (bad key, unknown model, spent quota, a parameter it does
    not take) shows the provider is up, and so does an output that fails validation; neither
    opens the circuit.
    """
    return isinstance(error, ModelAPIError) and not is_refusal(error)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    backoff_initial_seconds: float
    backoff_max_seconds: float
    retry_after_max_seconds: float
    cancels_abandoned_requests: bool
    stream_stall_seconds: float

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> "RetryPolicy":
        return cls(
            max_attempts=settings.max_attempts,
            backoff_initial_seconds=settings.backoff_initial_seconds,
            backoff_max_seconds=settings.backoff_max_seconds,
            retry_after_max_seconds=settings.retry_after_max_seconds,
            cancels_abandoned_requests=settings.cancels_abandoned_requests,
            stream_stall_seconds=settings.stream_stall_seconds,
        )

    def worth_retrying(self, error: BaseException) -> bool:
        if not is_transient(error):
            return False
        return self.cancels_abandoned_requests or not left_work_behind(error)


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
        self._stats.steps += 1
        sent = partial(request_text, messages, model_request_parameters)
        try:
            response = await self._with_retries(
                lambda: self.wrapped.request(messages, model_settings, model_request_parameters),
                sent,
            )
        except BaseException as error:
            self._record(error, probe=probe)
            raise
        self._breaker.record_success(probe=probe)
        if reported_nothing(response.usage):
            self._stats.estimate(sent(), response_text(response.parts))
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
        self._stats.steps += 1
        sent = partial(request_text, messages, model_request_parameters)
        try:
            async with AsyncExitStack() as stack:
                # Only opening the stream is retried: once deltas have gone to the caller, a
                # repeat would deliver them twice, so a stream cut mid-way fails the call.
                stream = await self._with_retries(
                    lambda: stack.enter_async_context(
                        self.wrapped.request_stream(
                            messages, model_settings, model_request_parameters, run_context
                        )
                    ),
                    sent,
                )
                _guard_stalls(stream, self._policy.stream_stall_seconds)
                try:
                    yield stream
                finally:
                    # Whatever ended the stream, what it cost counts; a server that reports
                    # no usage in streams is charged an estimate.
                    if reported_nothing(stream.usage):
                        self._stats.estimate(sent(), response_text(stream.get().parts))
        except BaseException as error:
            self._record(error, probe=probe)
            raise
        self._breaker.record_success(probe=probe)

    async def _with_retries(
        self, attempt: Callable[[], Awaitable[T]], sent: Callable[[], str]
    ) -> T:
        policy = self._policy
        backoff = wait_exponential_jitter(
            multiplier=policy.backoff_initial_seconds,
            max=policy.backoff_max_seconds,
            jitter=policy.backoff_initial_seconds,
        )
        retrying = AsyncRetrying(
            retry=retry_if_exception(policy.worth_retrying),
            stop=stop_after_attempt(policy.max_attempts)
            | stop_when_retry_after_exceeds(policy.retry_after_max_seconds),
            wait=wait_backoff_or_retry_after(backoff),
            before_sleep=self._count_retry,
            reraise=True,
        )

        async def once() -> T:  # tenacity awaits only what it sees is a coroutine function
            try:
                result = await attempt()
            except ModelAPIError as error:
                if reached_provider(error):
                    self._stats.requests += 1
                if left_work_behind(error):
                    # The server read the prompt before we stopped waiting for its answer.
                    self._stats.estimate(sent())
                raise
            except asyncio.CancelledError:
                # The caller stopped (a cancelled run): the prompt had gone all the same.
                self._stats.requests += 1
                self._stats.estimate(sent())
                raise
            self._stats.requests += 1
            return result

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


def _guard_stalls(stream: StreamedResponse, seconds: float) -> None:
    """Cut the stream once it has begun and then sends no event for ``seconds``.

    The per-read timeout of the HTTP client bounds the wait for the first bytes, which on a
    slow server includes reading the prompt; between two events of a stream that is flowing,
    a much shorter silence already means it has stalled. pydantic-ai builds the stream's
    events from ``_get_event_iterator`` when iteration starts, so the guard wraps that.
    """
    events = stream._get_event_iterator
    model_name = stream.model_name

    async def guarded() -> AsyncIterator[ModelResponseStreamEvent]:
        iterator = events().__aiter__()
        started = False
        while True:
            try:
                if started:
                    async with asyncio.timeout(seconds):
                        event = await anext(iterator)
                else:
                    event = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise StreamStalledError(model_name, seconds) from None
            started = True
            yield event

    stream._get_event_iterator = guarded  # type: ignore[method-assign]
