from fastapi import status

from app.core.errors import AppError


class ExportNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "export_not_found"

    def __init__(self) -> None:
        super().__init__("No such export in this project.")


class ExportNotReadyError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "export_not_ready"


class ExportExpiredError(AppError):
    status_code = status.HTTP_410_GONE
    code = "export_expired"

    def __init__(self) -> None:
        super().__init__("This archive has expired and was removed; request a new export.")


class ArchiveIntegrityError(Exception):
    """The stored archive does not match its manifest: it is never offered for download."""


class ArchiveNotStoredError(Exception):
    """The storage holds no archive under the key a ready export points to."""
