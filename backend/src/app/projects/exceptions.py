from fastapi import status

from app.core.errors import AppError


class ProjectNotFoundError(AppError):
    """Also what a non-member sees for a project that exists: its existence is not revealed."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "project_not_found"

    def __init__(self) -> None:
        super().__init__("Project not found.")


class InsufficientRoleError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class MemberNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "member_not_found"


class MemberAlreadyExistsError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "member_exists"


class LastOwnerError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "last_owner"

    def __init__(self) -> None:
        super().__init__("A project keeps at least one owner: add another owner first.")


class UnknownMemberEmailError(AppError):
    """The body names an e-mail no user has; the project itself was found, so not a 404."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "user_not_found"


class ProjectLimitError(AppError):
    """The user owns as many projects as JEEX_QUOTA_PROJECTS_PER_USER allows."""

    status_code = status.HTTP_409_CONFLICT
    code = "project_limit_reached"
