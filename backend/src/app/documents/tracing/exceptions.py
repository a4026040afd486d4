from fastapi import status

from app.core.errors import AppError


class TraceLinkError(AppError):
    """A manual edit adds a link to an item that does not exist, was retired, or may not be
    served by an item of that kind."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "invalid_trace_link"


class TraceLimitError(AppError):
    """A version lists more items than are traced, or a kind's ids ran out."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "too_many_items"
