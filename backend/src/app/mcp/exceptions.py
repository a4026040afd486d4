from fastapi import status

from app.core.errors import AppError


class UnknownResourceError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "resource_not_found"

    def __init__(self, uri: str) -> None:
        # Only our own addresses are described; the caller's text is not echoed back whole.
        super().__init__(
            "No such resource: resources are jeex://projects and the addresses it lists.",
            details={"uri": uri[:200]},
        )


class InvalidArgumentsError(AppError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "invalid_arguments"


class UnknownToolError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "tool_not_found"
