"""pydantic-ai's failures, as the gateway's own errors; provider text never passes through."""

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
    LLMTimeoutError,
    LLMUnavailableError,
)
from app.llm.routing import ModelRoute


def translate(
    error: AgentRunError, route: ModelRoute, *, stream_started: bool, call_token_limit: int
) -> LLMError:
    details: dict[str, object] = {"provider": route.provider.value, "model": route.model_name}
    if isinstance(error, ModelHTTPError):
        details["status"] = error.status_code
    if isinstance(error, ModelAPIError):
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


def _provider_error(
    error: ModelAPIError, details: dict[str, object], *, stream_started: bool
) -> LLMError:
    if stream_started and isinstance(error, ModelConnectionError):
        return LLMStreamInterruptedError(
            "The model's answer stopped arriving part-way through.", details=details
        )
    if isinstance(error, ModelTimeoutError | ModelRequestTimeout):
        return LLMTimeoutError("The model did not answer in time.", details=details)
    if isinstance(error, ModelQuotaExceededError | ModelRequestRejectedError):
        return LLMRequestRejectedError(
            "The model provider refused the request; check the LLM configuration.",
            details=details,
        )
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
