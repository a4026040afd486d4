from fastapi import status

from app.core.errors import AppError


class RunNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "run_not_found"


class RunFinishedError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "run_finished"


class StageOrderError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "stage_order"


class StageStateError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "stage_state"


class StageIncompleteError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "stage_incomplete"
