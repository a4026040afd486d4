from fastapi import status

from app.core.errors import AppError
from app.core.security import InvalidCredentialsError


class ProviderNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "provider_not_found"


class InvalidReturnPathError(AppError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_return_path"


class InvalidLoginStateError(AppError):
    """Unknown, expired, replayed, or begun in another browser: all look the same to a client."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_login_state"

    def __init__(self) -> None:
        super().__init__("The sign-in attempt is unknown, expired or was started elsewhere.")


class LoginFailedError(AppError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "login_failed"


class InvalidRefreshTokenError(InvalidCredentialsError):
    code = "invalid_refresh_token"

    def __init__(self) -> None:
        super().__init__("The refresh token is missing, invalid, expired or revoked.")


class RefreshTokenReusedError(InvalidCredentialsError):
    code = "refresh_token_reused"

    def __init__(self) -> None:
        super().__init__(
            "This refresh token was already used; every session descended from it is revoked."
        )


class PersonalTokenNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "token_not_found"


class PersonalTokenFromPersonalTokenError(AppError):
    """A token minted with a token could outlive the one it came from (it would not be revoked
    with it): new tokens need a signed-in session."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "personal_token_not_allowed"

    def __init__(self) -> None:
        super().__init__("A personal access token cannot create tokens; sign in to create one.")


class PersonalTokenLimitError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "token_limit_reached"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"A user holds at most {limit} active personal access tokens; revoke one first.",
            details={"limit": limit},
        )


class SignInCodeInvalidError(InvalidCredentialsError):
    """Unknown, used or expired: all look the same to a client."""

    code = "sign_in_code_invalid"

    def __init__(self) -> None:
        super().__init__(
            "The sign-in code is unknown, used or expired; run `jeex-idea sign-in-link` for a "
            "new one."
        )


class LocalSignInDisabledError(AppError):
    """Local sign-in exists only in development: elsewhere the route answers like a missing one."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"

    def __init__(self) -> None:
        super().__init__("Local sign-in is available only in development.")
