from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.users.models import User


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email))
    return result.scalar_one_or_none()


async def add(session: AsyncSession, *, email: str, name: str | None) -> User:
    user = User(email=email, name=name)
    session.add(user)
    await session.flush()
    await session.refresh(user)
    return user


async def get_by_id(session: AsyncSession, user_id: UUID) -> User | None:
    return await session.get(User, user_id)


# A table column, not the mapped attribute: a Core statement, past the ORM's compile and
# loading steps (this checks every new access token's user).
_EXISTS = select(User.__table__.c.id).where(User.__table__.c.id == bindparam("user_id"))


async def exists(session: AsyncSession, user_id: UUID) -> bool:
    result = await session.execute(_EXISTS, {"user_id": user_id})
    return result.first() is not None


async def add_profile(
    session: AsyncSession, *, email: str | None, name: str | None, avatar_url: str | None
) -> User:
    user = User(email=email, name=name, avatar_url=avatar_url)
    session.add(user)
    await session.flush()
    await session.refresh(user)
    return user


async def get_or_add_by_email(session: AsyncSession, *, email: str, name: str) -> User:
    """The user with this email, created when missing. Two callers creating it at once both get
    the one row: the insert gives way to the unique email instead of failing."""
    await session.execute(
        insert(User).values(email=email, name=name).on_conflict_do_nothing(index_elements=["email"])
    )
    user = await get_by_email(session, email)
    if user is None:  # the insert or a concurrent one made it; it cannot be gone inside this
        raise RuntimeError(f"user {email} vanished while being created")
    return user
