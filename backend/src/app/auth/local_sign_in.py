"""Local sign-in for development: a local owner account and single-use sign-in codes.

A code is minted by a process on this machine (``serve`` at start, ``jeex-idea sign-in-link``
beside it) and redeemed by the browser it is given to. Codes live in PostgreSQL, which both
processes reach (the embedded server is shared between them; Redis is not), only as SHA-256
hashes, and are removed by the statement that redeems them, so a code signs in once.
"""

import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as auth_repository
from app.auth import service as auth_service
from app.auth.exceptions import LocalSignInDisabledError, SignInCodeInvalidError
from app.auth.models import SignInCode
from app.auth.resources import AuthResources
from app.auth.schemas import TokenPair
from app.core.config import AuthSettings
from app.core.security import hash_token
from app.users import repository as user_repository

LOCAL_OWNER_EMAIL = "owner@localhost"
LOCAL_OWNER_NAME = "Local owner"
SIGN_IN_PATH = "/sign-in"
_CODE_BYTES = 32


def _now() -> datetime:
    return datetime.now(UTC)


def require_local_sign_in(settings: AuthSettings) -> None:
    if not settings.local_sign_in:
        raise LocalSignInDisabledError


async def ensure_local_owner(session: AsyncSession) -> UUID:
    """The local owner's id; the account is created the first time it is needed."""
    user = await user_repository.get_or_add_by_email(
        session, email=LOCAL_OWNER_EMAIL, name=LOCAL_OWNER_NAME
    )
    return user.id


async def mint_sign_in_code(session: AsyncSession, settings: AuthSettings, user_id: UUID) -> str:
    """A new code for ``user_id``, valid for the configured time; shown once, never stored."""
    require_local_sign_in(settings)
    now = _now()
    await auth_repository.delete_expired_sign_in_codes(session, now)
    code = secrets.token_urlsafe(_CODE_BYTES)
    await auth_repository.add_sign_in_code(
        session,
        SignInCode(
            code_hash=hash_token(code),
            user_id=user_id,
            expires_at=now + timedelta(seconds=settings.sign_in_code_ttl_seconds),
        ),
    )
    return code


async def redeem_sign_in_code(
    session: AsyncSession, resources: AuthResources, code: str
) -> TokenPair:
    """Trade a live code for a new session; the code is gone afterwards."""
    require_local_sign_in(resources.settings.auth)
    user_id = await auth_repository.take_sign_in_code(session, hash_token(code), _now())
    if user_id is None:
        raise SignInCodeInvalidError
    return await auth_service.start_session(session, resources, user_id)


def sign_in_url(host: str, port: int, code: str) -> str:
    """The link to open; a wildcard bind address is reached as localhost."""
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - recognising a bind address, not binding
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{SIGN_IN_PATH}?code={code}"
