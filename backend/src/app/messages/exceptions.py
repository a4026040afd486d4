from fastapi import status

from app.core.errors import AppError


class MessageNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "message_not_found"


class AmbiguousCursorError(AppError):
    code = "ambiguous_cursor"

    def __init__(self) -> None:
        super().__init__("Page with either `before` or `after`, not both.")
