"""Every pydantic-ai failure becomes one of ours, and none carries the provider's words."""

import pytest
from pydantic_ai.exceptions import (
    AgentRunError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    ModelNotFoundError,
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

from app.core.config import LLMProvider
from app.llm.errors import translate
from app.llm.routing import ModelRoute

ROUTE = ModelRoute(LLMProvider.OPENAI, "m")
PROVIDER_WORDS = "account acct_42 said: your prompt 'secret plan' is too long"


# The categories ModelHTTPError.for_category takes (authentication and not-found errors are
# rejected requests).
_CATEGORIES: dict[
    int,
    type[
        ModelRateLimitError
        | ModelQuotaExceededError
        | ModelUnavailableError
        | ModelServerError
        | ModelRequestRejectedError
    ]
    | None,
] = {
    400: ModelRequestRejectedError,
    401: ModelAuthenticationError,
    402: ModelQuotaExceededError,
    404: ModelNotFoundError,
    409: None,
    429: ModelRateLimitError,
    500: ModelServerError,
    503: ModelUnavailableError,
}


def _http(status: int, headers: dict[str, str] | None = None) -> ModelHTTPError:
    """An HTTP error as pydantic-ai's models raise it: also an instance of its category."""
    return ModelHTTPError.for_category(
        _CATEGORIES[status],
        status_code=status,
        model_name="m",
        body=PROVIDER_WORDS,
        headers=headers,
    )


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (_http(429, {"retry-after": "7"}), "llm_rate_limited", 503),
        (_http(500), "llm_unavailable", 503),
        (_http(503), "llm_unavailable", 503),
        (_http(401), "llm_request_rejected", 502),
        (_http(402), "llm_request_rejected", 502),
        (_http(404), "llm_request_rejected", 502),
        (_http(400), "llm_request_rejected", 502),
        (_http(409), "llm_bad_response", 502),
        (ModelTimeoutError("m", PROVIDER_WORDS), "llm_timeout", 504),
        (ModelRequestTimeout("m", 30), "llm_timeout", 504),
        (ModelConnectionError("m", PROVIDER_WORDS), "llm_unavailable", 503),
        (ModelAPIError("m", PROVIDER_WORDS), "llm_bad_response", 502),
        (UnexpectedModelBehavior(PROVIDER_WORDS), "llm_invalid_output", 502),
        (UsageLimitExceeded(PROVIDER_WORDS), "llm_call_token_limit", 502),
        (AgentRunError(PROVIDER_WORDS), "llm_bad_response", 502),
    ],
)
def test_each_failure_has_its_code_and_status(error: AgentRunError, code: str, status: int) -> None:
    translated = translate(error, ROUTE, stream_started=False, call_token_limit=100)
    assert (translated.code, translated.status_code) == (code, status)
    assert PROVIDER_WORDS not in translated.message
    assert PROVIDER_WORDS not in str(translated.details)


def test_a_rate_limit_passes_on_the_providers_retry_after() -> None:
    translated = translate(
        _http(429, {"retry-after": "7"}), ROUTE, stream_started=False, call_token_limit=100
    )
    assert translated.retry_after == 7
    assert translated.headers == {"Retry-After": "7"}
    assert translated.details == {
        "provider": "openai",
        "model": "m",
        "status": 429,
        "retry_after_seconds": 7,
    }


def test_a_connection_lost_after_the_first_delta_is_an_interrupted_stream() -> None:
    error = ModelConnectionError("m", PROVIDER_WORDS)
    translated = translate(error, ROUTE, stream_started=True, call_token_limit=100)
    assert translated.code == "llm_stream_interrupted"
