"""pydantic-ai's failures, as the gateway's own errors.

Provider text never passes through, with one exception: a refused request carries the
provider's explanation, scrubbed and bounded (see :mod:`app.llm.rejections`), because nothing
else can tell the user or the operator what to change.
"""

from pydantic_ai.exceptions import (
    AgentRunError,
    ModelAPIError,
    ModelConnectionError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestRejectedError,
    ModelRequestTimeout,
    ModelServerError,
    ModelTimeoutError,
    ModelUnavailableError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
)

from app.llm.exceptions import (
    LLMBadResponseError,
    LLMCallTokenLimitError,
    LLMError,
    LLMInvalidOutputError,
    LLMRateLimitedError,
    LLMRequestRejectedError,
    LLMStreamInterruptedError,
    LLMStreamStalledError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from app.llm.rejections import is_validation_refusal, provider_message
from app.llm.resilience import StreamStalledError
from app.llm.routing import ModelRoute


def translate(
    error: AgentRunError,
    route: ModelRoute,
    *,
    stream_started: bool,
    call_token_limit: int,
    secrets: tuple[str, ...] = (),
) -> LLMError:
    details: dict[str, object] = {"provider": route.provider.value, "model": route.model_name}
    if isinstance(error, ModelHTTPError):
        details["status"] = error.status_code
    if isinstance(error, ModelAPIError):
        if _is_refusal(error):
            return _rejected(error, details, secrets)
        return _provider_error(error, details, stream_started=stream_started)
    if isinstance(error, UsageLimitExceeded):
        return LLMCallTokenLimitError(
            "The model used more tokens than one call may.",
            details={**details, "limit": call_token_limit},
        )
    if isinstance(error, UnexpectedModelBehavior):
        return LLMInvalidOutputError(
            "The model's answer did not have the expected form, even after being told what "
            "was wrong with it.",
            details=details,
        )
    return LLMBadResponseError("The model run failed unexpectedly.", details=details)


def _is_refusal(error: ModelAPIError) -> bool:
    return isinstance(
        error, ModelQuotaExceededError | ModelRequestRejectedError
    ) or is_validation_refusal(error)


def _rejected(
    error: ModelAPIError, details: dict[str, object], secrets: tuple[str, ...]
) -> LLMRequestRejectedError:
    said = provider_message(error, secrets=secrets)
    status = details.get("status")
    where = f" (HTTP {status})" if status is not None else ""
    if said is None:
        message = f"The model provider refused the request{where}; check the LLM configuration."
    else:
        message = f"The model provider refused the request{where}: {said}"
    return LLMRequestRejectedError(message, details={**details, "provider_message": said})


def _provider_error(
    error: ModelAPIError, details: dict[str, object], *, stream_started: bool
) -> LLMError:
    if isinstance(error, StreamStalledError):
        return LLMStreamStalledError(
            f"The model's answer stopped arriving: nothing came for {error.seconds:g} seconds.",
            details={**details, "stall_seconds": error.seconds},
        )
    if stream_started and isinstance(error, ModelConnectionError):
        return LLMStreamInterruptedError(
            "The model's answer stopped arriving part-way through.", details=details
        )
    if isinstance(error, ModelTimeoutError | ModelRequestTimeout):
        return LLMTimeoutError("The model did not answer in time.", details=details)
    if isinstance(error, ModelRateLimitError):
        return LLMRateLimitedError(
            "The model provider is rate limiting us; try again shortly.",
            details={**details, "retry_after_seconds": error.retry_after},
            retry_after=error.retry_after,
        )
    if isinstance(error, ModelUnavailableError | ModelServerError | ModelConnectionError):
        return LLMUnavailableError("The model provider is unavailable.", details=details)
    return LLMBadResponseError(
        "The model provider sent a response we cannot read.", details=details
    )
