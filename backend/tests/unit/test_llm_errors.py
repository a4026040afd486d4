"""Every pydantic-ai failure becomes one of ours, and none carries the provider's words but a
refused request, whose explanation it carries scrubbed and bounded."""

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
    if code == "llm_request_rejected":
        assert translated.message.endswith(f": {PROVIDER_WORDS}")
        assert isinstance(translated.details, dict)
        assert translated.details["provider_message"] == PROVIDER_WORDS
    else:
        assert PROVIDER_WORDS not in translated.message
        assert PROVIDER_WORDS not in str(translated.details)


def _server_error(body: object) -> ModelHTTPError:
    return ModelHTTPError.for_category(ModelServerError, status_code=500, model_name="m", body=body)


def test_a_500_whose_body_is_a_validation_message_is_a_rejected_request() -> None:
    body = {"error": {"message": "Input should be 'text' or 'json_object'", "code": 500}}
    translated = translate(_server_error(body), ROUTE, stream_started=False, call_token_limit=1)
    assert translated.code == "llm_request_rejected"
    assert translated.message == (
        "The model provider refused the request (HTTP 500): Input should be 'text' or 'json_object'"
    )
    assert translated.details == {
        "provider": "openai",
        "model": "m",
        "status": 500,
        "provider_message": "Input should be 'text' or 'json_object'",
    }


def test_a_500_without_a_validation_message_stays_an_unavailable_provider() -> None:
    translated = translate(
        _server_error({"error": {"message": "CUDA out of memory"}}),
        ROUTE,
        stream_started=False,
        call_token_limit=1,
    )
    assert translated.code == "llm_unavailable"
    assert "CUDA" not in translated.message + str(translated.details)


def test_a_rejected_requests_message_loses_secrets_and_long_quotes_and_is_bounded() -> None:
    prompt = "my whole secret business plan, quoted back at length by the server"
    said = (
        f"invalid_request: key sk-live-0123456789abcdefghij, api_key=hunter22 rejected for "
        f"'{prompt}' with Authorization: Bearer abc.def.ghi.jkl; the configured key "
        f"local-secret-value is wrong. " + "More words. " * 40
    )
    error = ModelHTTPError.for_category(
        ModelRequestRejectedError, status_code=400, model_name="m", body={"message": said}
    )
    translated = translate(
        error,
        ROUTE,
        stream_started=False,
        call_token_limit=1,
        secrets=("local-secret-value",),
    )
    assert isinstance(translated.details, dict)
    shown = translated.details["provider_message"]
    for secret in ("sk-live-0123456789abcdefghij", "hunter22", "abc.def.ghi.jkl", prompt):
        assert secret not in shown
        assert secret not in translated.message
    assert "local-secret-value" not in shown
    assert shown.startswith("invalid_request: key [redacted], api_key=[redacted] rejected for '…'")
    assert len(shown) <= 240
    assert shown.endswith("…")


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
