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


class InvitationNotFoundError(AppError):
    """Unknown, someone else's, answered or expired: all look the same."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "invitation_not_found"

    def __init__(self) -> None:
        super().__init__("No such open invitation.")


class ProjectLimitError(AppError):
    """The user owns as many projects as JEEX_QUOTA_PROJECTS_PER_USER allows."""

    status_code = status.HTTP_409_CONFLICT
    code = "project_limit_reached"
