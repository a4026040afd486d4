from uuid import UUID

from sqlalchemy import select
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


async def add_profile(
    session: AsyncSession, *, email: str | None, name: str | None, avatar_url: str | None
) -> User:
    user = User(email=email, name=name, avatar_url=avatar_url)
    session.add(user)
    await session.flush()
    await session.refresh(user)
    return user
