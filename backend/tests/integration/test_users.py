import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.users import service as user_service
from app.users.exceptions import UserAlreadyExistsError, UserNotFoundError
from app.users.schemas import UserCreate


async def test_a_user_gets_a_uuid7_and_a_lower_cased_email(session: AsyncSession) -> None:
    user = await user_service.create_user(session, UserCreate(email="Ann@Example.COM", name="Ann"))
    assert user.id.version == 7
    assert user.email == "ann@example.com"
    assert user.created_at.tzinfo is not None
    found = await user_service.get_user_by_email(session, "ANN@example.com")
    assert found == user


async def test_the_same_email_in_another_case_is_a_duplicate(session: AsyncSession) -> None:
    await user_service.create_user(session, UserCreate(email="bob@example.com"))
    with pytest.raises(UserAlreadyExistsError, match=re.escape("bob@example.com")):
        await user_service.create_user(session, UserCreate(email="BOB@example.com"))


async def test_an_unknown_email_is_not_found(session: AsyncSession) -> None:
    with pytest.raises(UserNotFoundError):
        await user_service.get_user_by_email(session, "nobody@example.com")
