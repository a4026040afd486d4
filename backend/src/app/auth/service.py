"""Sessions and credentials: refresh rotation with reuse detection, personal tokens, bearer auth."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as auth_repository
from app.auth.exceptions import (
    InvalidRefreshTokenError,
    PersonalTokenFromPersonalTokenError,
    PersonalTokenLimitError,
    PersonalTokenNotFoundError,
    RefreshTokenReusedError,
)
from app.auth.models import PersonalAccessToken, RefreshToken
from app.auth.resources import AuthResources
from app.auth.schemas import (
    IdentityRead,
    MeRead,
    PersonalTokenCreate,
    PersonalTokenCreated,
    PersonalTokenRead,
    TokenPair,
)
from app.core.security import (
    PERSONAL_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    InvalidCredentialsError,
    hash_token,
    new_opaque_token,
)
from app.users import repository as user_repository
from app.users.schemas import UserRead

# last_used_at is for people reading a token list, not an audit log: one write a minute is
# enough and keeps token-authenticated reads from all becoming writes.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user of a request."""

    user_id: UUID
    via_personal_token: bool


def _now() -> datetime:
    return datetime.now(UTC)


async def start_session(
    session: AsyncSession, resources: AuthResources, user_id: UUID
) -> TokenPair:
    """A new refresh-token family and its first access token (a fresh sign-in)."""
    return await _issue_pair(session, resources, user_id, family_id=uuid4())


async def _issue_pair(
    session: AsyncSession, resources: AuthResources, user_id: UUID, *, family_id: UUID
) -> TokenPair:
    refresh_token, refresh_hash = new_opaque_token(REFRESH_TOKEN_PREFIX)
    ttl = timedelta(days=resources.settings.auth.refresh_token_ttl_days)
    await auth_repository.add_refresh_token(
        session,
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=refresh_hash,
            expires_at=_now() + ttl,
        ),
    )
    return TokenPair(
        access_token=resources.access_tokens.issue(user_id),
        refresh_token=refresh_token,
        expires_in=int(resources.access_tokens.ttl.total_seconds()),
    )


async def rotate_refresh_token(
    session: AsyncSession, resources: AuthResources, presented: str
) -> TokenPair:
    """Trade a refresh token for a new pair; presenting a used one revokes its whole family."""
    token = await auth_repository.lock_refresh_token(session, hash_token(presented))
    if token is None or token.revoked_at is not None or token.expires_at <= _now():
        raise InvalidRefreshTokenError
    if token.rotated_at is not None:
        # Someone holds a token that was already exchanged: the thief or the owner, we cannot
        # tell, so every descendant dies. This must survive the error response's rollback.
        await auth_repository.revoke_family(session, token.family_id, _now())
        await session.commit()
        raise RefreshTokenReusedError
    token.rotated_at = _now()
    return await _issue_pair(session, resources, token.user_id, family_id=token.family_id)


async def end_session(session: AsyncSession, presented: str) -> None:
    token = await auth_repository.lock_refresh_token(session, hash_token(presented))
    if token is not None:
        await auth_repository.revoke_family(session, token.family_id, _now())


async def authenticate(session: AsyncSession, resources: AuthResources, bearer: str) -> Caller:
    if bearer.startswith(PERSONAL_TOKEN_PREFIX):
        user_id = await _authenticate_personal_token(session, bearer)
        via_personal_token = True
    else:
        user_id = resources.access_tokens.verify(bearer)
        via_personal_token = False
    if await user_repository.get_by_id(session, user_id) is None:
        raise InvalidCredentialsError
    return Caller(user_id=user_id, via_personal_token=via_personal_token)


async def _authenticate_personal_token(session: AsyncSession, presented: str) -> UUID:
    token = await auth_repository.get_personal_token_by_hash(session, hash_token(presented))
    now = _now()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
    ):
        raise InvalidCredentialsError
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_RESOLUTION:
        await auth_repository.touch_personal_token(session, token.id, now)
    return token.user_id


async def create_token_for_caller(
    session: AsyncSession, caller: Caller, data: PersonalTokenCreate, *, max_active: int
) -> PersonalTokenCreated:
    """A token from a signed-in session only. A token minted with a personal access token would
    not go when its parent is revoked, nor expire with it: refusing is the one rule a stolen
    token cannot get around."""
    if caller.via_personal_token:
        raise PersonalTokenFromPersonalTokenError
    return await create_personal_token(session, caller.user_id, data, max_active=max_active)


async def create_personal_token(
    session: AsyncSession, user_id: UUID, data: PersonalTokenCreate, *, max_active: int
) -> PersonalTokenCreated:
    """Also the operator's path (``jeex-idea tokens create``): the cap holds there too."""
    if await auth_repository.count_active_personal_tokens(session, user_id, _now()) >= max_active:
        raise PersonalTokenLimitError(max_active)
    token, token_hash = new_opaque_token(PERSONAL_TOKEN_PREFIX)
    expires_at = (
        _now() + timedelta(days=data.expires_in_days) if data.expires_in_days is not None else None
    )
    row = PersonalAccessToken(
        user_id=user_id,
        name=data.name,
        token_hash=token_hash,
        display_prefix=token[: len(PERSONAL_TOKEN_PREFIX) + 6],
        expires_at=expires_at,
    )
    await auth_repository.add_personal_token(session, row)
    return PersonalTokenCreated(**PersonalTokenRead.model_validate(row).model_dump(), token=token)


async def list_personal_tokens(session: AsyncSession, user_id: UUID) -> list[PersonalTokenRead]:
    rows = await auth_repository.list_personal_tokens(session, user_id)
    return [PersonalTokenRead.model_validate(row) for row in rows]


async def revoke_personal_token(session: AsyncSession, user_id: UUID, token_id: UUID) -> None:
    if not await auth_repository.revoke_personal_token(session, user_id, token_id, _now()):
        raise PersonalTokenNotFoundError("No such personal access token.")


async def describe_user(session: AsyncSession, user_id: UUID) -> MeRead:
    user = await user_repository.get_by_id(session, user_id)
    if user is None:
        raise InvalidCredentialsError
    identities = await auth_repository.list_identities(session, user_id)
    return MeRead(
        **UserRead.model_validate(user).model_dump(),
        identities=[IdentityRead.model_validate(identity) for identity in identities],
    )
