from fastapi import status

from app.core.errors import AppError


class UserAlreadyExistsError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "user_exists"


class UserNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "user_not_found"
