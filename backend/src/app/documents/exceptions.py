from fastapi import status

from app.core.errors import AppError


class DocumentNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "document_not_found"


class VersionNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "version_not_found"


class VersionConflictError(AppError):
    """The document moved on since the caller read it."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    code = "version_conflict"


class PreconditionRequiredError(AppError):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    code = "precondition_required"

    def __init__(self) -> None:
        super().__init__('Send If-Match with the version you edited (the ETag of GET, e.g. "3").')


class DocumentTooComplexError(AppError):
    """Nested too deeply to render in bounded time (the sanitiser is quadratic in depth)."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "document_too_complex"

    def __init__(self, max_nesting: int) -> None:
        super().__init__(
            f"The document nests elements more than {max_nesting} levels deep; "
            "flatten its lists, quotes or raw HTML to preview it.",
            details={"max_nesting": max_nesting},
        )
