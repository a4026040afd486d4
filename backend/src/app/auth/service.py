"""Sessions and credentials: refresh rotation with reuse detection, personal tokens, bearer auth."""

from collections.abc import Callable, Sequence
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
from app.auth.principals import Caller, credentials_stamp
from app.auth.resources import AuthResources
from app.auth.schemas import (
    MeRead,
    PersonalTokenCreate,
    PersonalTokenCreated,
    PersonalTokenRead,
    TokenPair,
)
from app.core.rate_limit import Limit, Stamp
from app.core.security import (
    PERSONAL_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    InvalidCredentialsError,
    hash_token,
    new_opaque_token,
)
from app.core.stamped import renew_with_commit
from app.users import repository as user_repository

# last_used_at is for people reading a token list, not an audit log: one write a minute is
# enough and keeps token-authenticated reads from all becoming writes.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


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


@dataclass(frozen=True, slots=True)
class _Checked:
    """What checking a bearer from scratch found."""

    caller: Caller
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Metering:
    """What a request of one user counts against, and the stamps read in the same round trip
    (those of what the request goes on to use, such as a project's access)."""

    limits: Sequence[Limit]
    stamps: Sequence[Stamp] = ()


MeteringOf = Callable[[UUID], Metering]


@dataclass(frozen=True, slots=True)
class Admission:
    caller: Caller
    # The current value of the caller's credentials stamp, read before anything the request
    # goes on to read: what an entry filed by this request may be filed under.
    credentials: str
    # The current values of the metering's stamps, in their order.
    stamps: tuple[str, ...]


async def admit(
    session: AsyncSession, resources: AuthResources, bearer: str, *, metering: MeteringOf
) -> Admission:
    """Who presents ``bearer``, with the request counted against what ``metering`` names for
    that user.

    A bearer this replica checked recently, under the user's current credentials stamp, costs
    only the round trip that counts the limits (and reads the stamps); see
    :mod:`app.auth.principals` for why that is as safe as checking it again.
    """
    known = resources.principals.get(bearer)
    if known is not None:
        stamp, others = await _count(resources, known.value.user_id, metering)
        if known.stamp == stamp:
            return Admission(known.value, stamp, others)
        resources.principals.forget(bearer)
        checked = await _check_from_scratch(session, resources, bearer)
        return Admission(_remember(resources, bearer, checked, stamp), stamp, others)
    if bearer.startswith(PERSONAL_TOKEN_PREFIX):
        # Its user is known only from its row, read before the stamp could be: unconfirmed.
        checked = await _check_personal_token(session, bearer)
        stamp, others = await _count(resources, checked.caller.user_id, metering)
        return Admission(_remember(resources, bearer, checked, stamp=None), stamp, others)
    claims = resources.access_tokens.verify(bearer)
    stamp, others = await _count(resources, claims.user_id, metering)
    checked = await _check_user(session, claims.user_id, claims.expires_at)
    return Admission(_remember(resources, bearer, checked, stamp), stamp, others)


async def _count(
    resources: AuthResources, user_id: UUID, metering: MeteringOf
) -> tuple[str, tuple[str, ...]]:
    """Count the request; the user's credentials stamp and the metering's own stamps."""
    metered = metering(user_id)
    stamps = await resources.rate_limiter.enforce(
        metered.limits, stamps=[credentials_stamp(user_id), *metered.stamps]
    )
    return stamps[0], tuple(stamps[1:])


def _remember(
    resources: AuthResources, bearer: str, checked: _Checked, stamp: str | None
) -> Caller:
    expires_in = (
        None if checked.expires_at is None else (checked.expires_at - _now()).total_seconds()
    )
    resources.principals.remember(bearer, checked.caller, stamp=stamp, lifetime=expires_in)
    return checked.caller


async def _check_from_scratch(
    session: AsyncSession, resources: AuthResources, bearer: str
) -> _Checked:
    if bearer.startswith(PERSONAL_TOKEN_PREFIX):
        return await _check_personal_token(session, bearer)
    claims = resources.access_tokens.verify(bearer)
    return await _check_user(session, claims.user_id, claims.expires_at)


async def _check_user(session: AsyncSession, user_id: UUID, expires_at: datetime) -> _Checked:
    if not await user_repository.exists(session, user_id):
        raise InvalidCredentialsError
    return _Checked(Caller(user_id=user_id, via_personal_token=False), expires_at)


async def _check_personal_token(session: AsyncSession, presented: str) -> _Checked:
    token = await auth_repository.get_live_personal_token(session, hash_token(presented), _now())
    if token is None:
        raise InvalidCredentialsError
    now = _now()
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_RESOLUTION:
        await auth_repository.touch_personal_token(session, token.id, now)
    return _Checked(Caller(user_id=token.user_id, via_personal_token=True), token.expires_at)


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


async def revoke_personal_token(
    session: AsyncSession, resources: AuthResources, user_id: UUID, token_id: UUID
) -> None:
    """Revoked on every replica by its next request: the credentials stamp is renewed before
    the commit (a revocation Redis cannot announce fails whole) and again after it, since a
    request between the two may have filed the token as valid under the first renewal."""
    if not await auth_repository.revoke_personal_token(session, user_id, token_id, _now()):
        raise PersonalTokenNotFoundError("No such personal access token.")
    await renew_with_commit(session, resources.redis, credentials_stamp(user_id))


async def describe_caller(
    session: AsyncSession, resources: AuthResources, admission: Admission
) -> MeRead:
    """The caller's profile, from this replica's memory while the credentials stamp read by
    their admission (before the profile's rows) is the one it was filed under."""
    user_id = admission.caller.user_id
    known = resources.profiles.get(user_id)
    if known is not None and known.stamp == admission.credentials:
        return known.value
    profile = await _read_profile(session, user_id)
    resources.profiles.remember(user_id, profile, stamp=admission.credentials)
    return profile


async def _read_profile(session: AsyncSession, user_id: UUID) -> MeRead:
    rows = await auth_repository.get_profile(session, user_id)
    if not rows:
        raise InvalidCredentialsError
    user = rows[0]
    return MeRead.model_validate(
        {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "avatar_url": user.avatar_url,
            "created_at": user.created_at,
            "identities": [
                {
                    "provider": row.provider,
                    "email": row.identity_email,
                    "name": row.identity_name,
                    "avatar_url": row.identity_avatar_url,
                }
                for row in rows
                if row.provider is not None
            ],
        }
    )
