import pytest
from sqlalchemy import select

from app.core.db import after_commit, unit_of_work
from app.resources import Resources
from app.users.models import User


async def test_a_unit_of_work_commits_then_runs_its_after_commit_steps(
    resources: Resources, clean_state: None
) -> None:
    ran: list[list[str | None]] = []

    async def seen_after_commit() -> None:
        async with resources.session_factory() as check:
            ran.append(list((await check.execute(select(User.email))).scalars()))

    async with unit_of_work(resources) as session:
        session.add(User(email="kept@example.com"))
        after_commit(session, seen_after_commit)
        assert ran == []
    assert ran == [["kept@example.com"]]


async def test_a_unit_of_work_rolls_back_and_drops_its_after_commit_steps(
    resources: Resources, clean_state: None
) -> None:
    ran: list[str] = []

    async def never() -> None:
        ran.append("ran")

    async def failing_unit_of_work() -> None:
        async with unit_of_work(resources) as session:
            session.add(User(email="lost@example.com"))
            after_commit(session, never)
            await session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_unit_of_work()
    async with resources.session_factory() as check:
        assert (await check.execute(select(User.email))).scalars().all() == []
    assert ran == []
