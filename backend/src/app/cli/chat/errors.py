"""The terminal client's failures, each readable as one line."""

import httpx
from pydantic import ValidationError

from app.core.errors import ErrorResponse


class ChatError(Exception):
    """A failure the chat reports in one line (and, at start-up, exits on)."""


class ApiError(ChatError):
    """An answer of the API that is not a success."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.message.rstrip('.')} ({self.status} {self.code})"
        if self.retry_after is not None:
            text += f"; try again in {self.retry_after} s"
        return text


class ServerUnreachableError(ChatError):
    def __init__(self, url: str, error: httpx.TransportError) -> None:
        # The error's class names what went wrong (refused, timed out) without the socket noise.
        super().__init__(
            f"cannot reach the server at {url} ({type(error).__name__}); is `jeex-idea serve` "
            "running there?"
        )


def api_error(response: httpx.Response, doing: str) -> ApiError:
    """The API's own error code and message, or the bare status when the body is not the API's
    error shape (a proxy's page, say)."""
    retry_after = response.headers.get("Retry-After")
    try:
        body = ErrorResponse.model_validate_json(response.content).error
    except ValidationError:
        phrase = response.reason_phrase or "error"
        return ApiError(
            response.status_code, "http_error", f"{doing}: {phrase}", retry_after=retry_after
        )
    return ApiError(response.status_code, body.code, body.message, retry_after=retry_after)
