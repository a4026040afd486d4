from fastapi import status

from app.core.errors import AppError

# Long enough for a few streams to end; a client retrying sooner would only meet the same answer.
_BUSY_RETRY_AFTER_SECONDS = 5


class EventStreamsBusyError(AppError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "event_streams_busy"

    def __init__(self) -> None:
        super().__init__("This server streams to as many clients as it can; retry shortly.")
        self.headers = {"Retry-After": str(_BUSY_RETRY_AFTER_SECONDS)}


class TooManyUserStreamsError(AppError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "event_streams_per_user_exceeded"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} event streams open here; close one first.",
            details={"limit": limit},
        )
        self.headers = {"Retry-After": str(_BUSY_RETRY_AFTER_SECONDS)}
