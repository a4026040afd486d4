from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import PersonalAccessToken, RefreshToken, SignInCode, UserIdentity
from app.users.models import User


async def get_identity(session: AsyncSession, provider: str, subject: str) -> UserIdentity | None:
    result = await session.execute(
        select(UserIdentity).where(
            UserIdentity.provider == provider, UserIdentity.subject == subject
        )
    )
    return result.scalar_one_or_none()


# The hot reads below name table columns, not mapped attributes: a Core statement goes past the
# ORM's compile and row-loading steps, which cost about a tenth of a small request's CPU.
_user = User.__table__.c
_identity = UserIdentity.__table__.c
_token = PersonalAccessToken.__table__.c

_PROFILE = (
    select(
        _user.id,
        _user.email,
        _user.name,
        _user.avatar_url,
        _user.created_at,
        _identity.provider,
        _identity.email.label("identity_email"),
        _identity.name.label("identity_name"),
        _identity.avatar_url.label("identity_avatar_url"),
    )
    .select_from(User.__table__.outerjoin(UserIdentity.__table__, _identity.user_id == _user.id))
    .where(_user.id == bindparam("user_id"))
    .order_by(_identity.created_at)
)


async def get_profile(session: AsyncSession, user_id: UUID) -> Sequence[Row[Any]]:
    """The user and their sign-in identities in one query: one row per identity (a single row
    whose identity columns are NULL when there is none), none when the user does not exist.
    Built once, as columns: this answers /auth/me, the first request of every page load."""
    result = await session.execute(_PROFILE, {"user_id": user_id})
    return result.all()


async def add_identity(session: AsyncSession, identity: UserIdentity) -> None:
    session.add(identity)
    await session.flush()


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def lock_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    # FOR UPDATE: two requests presenting the same token are served one after the other, so
    # exactly one of them rotates it and the other is seen as reuse.
    result = await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    )
    return result.scalar_one_or_none()


async def revoke_family(session: AsyncSession, family_id: UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def add_personal_token(session: AsyncSession, token: PersonalAccessToken) -> None:
    session.add(token)
    await session.flush()
    await session.refresh(token)


async def count_active_personal_tokens(session: AsyncSession, user_id: UUID, at: datetime) -> int:
    """Active tokens of a user, counted under a lock on the user's row: concurrent creations
    for one user are serialised, so none of them can slip past the cap."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    result = await session.execute(
        select(func.count())
        .select_from(PersonalAccessToken)
        .where(
            PersonalAccessToken.user_id == user_id,
            PersonalAccessToken.revoked_at.is_(None),
            or_(PersonalAccessToken.expires_at.is_(None), PersonalAccessToken.expires_at > at),
        )
    )
    return int(result.scalar_one())


@dataclass(frozen=True, slots=True)
class LiveToken:
    id: UUID
    user_id: UUID
    expires_at: datetime | None
    last_used_at: datetime | None


_LIVE_TOKEN = select(_token.id, _token.user_id, _token.expires_at, _token.last_used_at).where(
    _token.token_hash == bindparam("token_hash"),
    _token.revoked_at.is_(None),
    or_(_token.expires_at.is_(None), _token.expires_at > bindparam("now")),
)


async def get_live_personal_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> LiveToken | None:
    """The unrevoked, unexpired token with this hash. Its user exists: the row goes with them
    (ON DELETE CASCADE). Columns, not an entity: this runs on every request a token is checked
    from scratch, and the ORM's identity map would only cost."""
    result = await session.execute(_LIVE_TOKEN, {"token_hash": token_hash, "now": now})
    row = result.one_or_none()
    return None if row is None else LiveToken(*row)


async def list_personal_tokens(session: AsyncSession, user_id: UUID) -> list[PersonalAccessToken]:
    result = await session.execute(
        select(PersonalAccessToken)
        .where(PersonalAccessToken.user_id == user_id, PersonalAccessToken.revoked_at.is_(None))
        .order_by(PersonalAccessToken.created_at.desc())
    )
    return list(result.scalars())


async def revoke_personal_token(
    session: AsyncSession, user_id: UUID, token_id: UUID, at: datetime
) -> bool:
    result = await session.execute(
        update(PersonalAccessToken)
        .where(
            PersonalAccessToken.id == token_id,
            PersonalAccessToken.user_id == user_id,
            PersonalAccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=at)
        .returning(PersonalAccessToken.id)
    )
    return result.scalar_one_or_none() is not None


async def touch_personal_token(session: AsyncSession, token_id: UUID, at: datetime) -> None:
    await session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == token_id)
        .values(last_used_at=at)
    )


async def add_sign_in_code(session: AsyncSession, code: SignInCode) -> None:
    session.add(code)
    await session.flush()


async def delete_expired_sign_in_codes(session: AsyncSession, at: datetime) -> None:
    await session.execute(delete(SignInCode).where(SignInCode.expires_at <= at))


async def take_sign_in_code(session: AsyncSession, code_hash: str, at: datetime) -> UUID | None:
    """The user of a live code, removing it in the same statement: of two requests presenting
    one code, exactly one gets the user."""
    result = await session.execute(
        delete(SignInCode)
        .where(SignInCode.code_hash == code_hash, SignInCode.expires_at > at)
        .returning(SignInCode.user_id)
    )
    return result.scalar_one_or_none()
