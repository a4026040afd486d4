from fastapi import status

from app.core.errors import AppError


class RunNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "run_not_found"


class RunFinishedError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "run_finished"


class RunQueueFullError(AppError):
    """Too many runs waiting, in the project or by the user over all their projects."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "run_queue_full"

    def __init__(self, message: str, *, details: dict[str, object]) -> None:
        super().__init__(message, details=details)
        # A queued run takes seconds to start; asking again sooner is pointless.
        self.headers = {"Retry-After": "5"}


class StageOrderError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "stage_order"


class StageStateError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "stage_state"


class StageIncompleteError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "stage_incomplete"


class LanguageLockedError(AppError):
    """The team has written in the project's language: it no longer changes."""

    status_code = status.HTTP_409_CONFLICT
    code = "language_locked"


class LanguageUnknownError(AppError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "language_unknown"
