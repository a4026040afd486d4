"""Every way a model call can fail, each with a stable code.

Messages are ours: a provider's own error text may quote the prompt or name an account, so it
never reaches a client, a log line or these details, except the scrubbed, bounded explanation
of a refused request (``llm_request_rejected``), without which nobody could tell what to fix.
"""

import math
from typing import TYPE_CHECKING, Any

from fastapi import status

from app.core.errors import AppError

if TYPE_CHECKING:
    from app.llm.schemas import LLMUsage


class LLMError(AppError):
    """Base of the gateway's errors: the model could not give a usable answer."""

    status_code = status.HTTP_502_BAD_GATEWAY
    code = "llm_error"

    def __init__(
        self, message: str, *, details: Any | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
        # What the failed call had cost when it stopped, when it got as far as the model.
        self.usage: LLMUsage | None = None
        if retry_after is not None:
            self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


class LLMNotConfiguredError(LLMError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "llm_not_configured"


class LLMCircuitOpenError(LLMError):
    """The provider + model failed repeatedly; calls are refused until a probe succeeds."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "llm_circuit_open"


class LLMRateLimitedError(LLMError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "llm_rate_limited"


class LLMUnavailableError(LLMError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "llm_unavailable"


class LLMTimeoutError(LLMError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    code = "llm_timeout"


class LLMStreamInterruptedError(LLMError):
    code = "llm_stream_interrupted"


class LLMStreamStalledError(LLMError):
    """A streamed answer that had begun sent nothing for the stall timeout; cut, not retried."""

    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    code = "llm_stream_stalled"


class LLMBadResponseError(LLMError):
    code = "llm_bad_response"


class LLMRequestRejectedError(LLMError):
    """The provider refused the request itself (credentials, model name, quota, size, a
    parameter it does not take); never retried. ``details.provider_message`` holds what the
    provider said, scrubbed."""

    code = "llm_request_rejected"


class LLMInvalidOutputError(LLMError):
    """The model's output failed validation after every retry with the errors fed back."""

    code = "llm_invalid_output"


class LLMCallTokenLimitError(LLMError):
    code = "llm_call_token_limit"


class LLMBudgetExceededError(LLMError):
    """The project's token budget cannot cover another call; nothing was sent."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "llm_budget_exceeded"


class LLMUserBudgetExceededError(LLMError):
    """The user's token budget over all their projects cannot cover another call; nothing was
    sent."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "llm_user_budget_exceeded"


class LLMConcurrencyLimitError(LLMError):
    """The user already has as many model calls in flight as allowed; nothing was sent."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "llm_concurrency_limited"
