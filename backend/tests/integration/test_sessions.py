import pytest
from sqlalchemy import select

from app.core.db import transactional_session
from app.core.resources import Resources
from app.users.models import User


async def test_a_unit_of_work_commits_on_success(resources: Resources, clean_state: None) -> None:
    async for session in transactional_session(resources.session_factory):
        session.add(User(email="kept@example.com"))
    async with resources.session_factory() as check:
        emails = (await check.execute(select(User.email))).scalars().all()
    assert emails == ["kept@example.com"]


async def test_a_unit_of_work_rolls_back_on_error(resources: Resources, clean_state: None) -> None:
    async def failing_unit_of_work() -> None:
        async for session in transactional_session(resources.session_factory):
            session.add(User(email="lost@example.com"))
            await session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_unit_of_work()
    async with resources.session_factory() as check:
        assert (await check.execute(select(User.email))).scalars().all() == []
