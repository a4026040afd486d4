"""Events caused by a database change are published after it commits, and never otherwise."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import unit_of_work
from app.core.deps import SessionDep
from app.core.errors import install_error_handlers
from app.events.publisher import EventPublisher, stream_key
from app.events.schemas import RunCompleted
from app.events.transaction import defer_event, publish_committed
from app.resources import Resources
from tests.conftest import make_settings
from tests.integration.events.conftest import unreachable_redis


class BoomError(Exception):
    pass


async def _published(redis: Redis, project_id: UUID) -> list[str]:
    entries = await redis.xrange(stream_key(project_id))
    return [RunCompleted.model_validate_json(fields[b"data"]).run_id.hex for _, fields in entries]


def _event(project_id: UUID, run_id: UUID) -> RunCompleted:
    return RunCompleted(project_id=project_id, run_id=run_id)


async def _unit_of_work(
    resources: Resources, body: Callable[[AsyncSession], Awaitable[None]]
) -> None:
    async with unit_of_work(resources) as session:
        await body(session)


async def test_a_unit_of_work_publishes_after_its_commit(
    resources: Resources, clean_state: None
) -> None:
    project_id, first, second = uuid4(), uuid4(), uuid4()
    async with unit_of_work(resources) as session:
        await session.execute(text("SELECT 1"))
        defer_event(session, _event(project_id, first))
        defer_event(session, _event(project_id, second))
        # Nothing leaves before the commit.
        assert await _published(resources.redis, project_id) == []
    assert await _published(resources.redis, project_id) == [first.hex, second.hex]


async def test_a_rolled_back_unit_of_work_publishes_nothing(
    resources: Resources, clean_state: None
) -> None:
    project_id = uuid4()

    async def fail(session: AsyncSession) -> None:
        await session.execute(text("SELECT 1"))
        defer_event(session, _event(project_id, uuid4()))
        raise BoomError

    with pytest.raises(BoomError):
        await _unit_of_work(resources, fail)
    assert await _published(resources.redis, project_id) == []


async def test_a_failed_commit_publishes_nothing(resources: Resources, clean_state: None) -> None:
    project_id = uuid4()

    async def violate_at_commit(session: AsyncSession) -> None:
        # A deferred constraint fails at COMMIT, after the block ended cleanly.
        await session.execute(
            text(
                "CREATE TEMP TABLE t (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED) "
                "ON COMMIT DROP"
            )
        )
        await session.execute(text("INSERT INTO t VALUES (1), (1)"))
        defer_event(session, _event(project_id, uuid4()))

    with pytest.raises(IntegrityError):
        await _unit_of_work(resources, violate_at_commit)
    assert await _published(resources.redis, project_id) == []


async def test_an_event_deferred_before_any_statement_follows_the_transaction(
    resources: Resources, clean_state: None
) -> None:
    project_id, kept = uuid4(), uuid4()
    async with resources.session_factory() as session:
        defer_event(session, _event(project_id, uuid4()))
        await session.rollback()
        defer_event(session, _event(project_id, kept))
        await session.commit()
        assert await publish_committed(session, resources.events) == 1
    assert await _published(resources.redis, project_id) == [kept.hex]


async def test_a_rolled_back_savepoint_drops_only_its_own_events(
    resources: Resources, clean_state: None
) -> None:
    project_id = uuid4()
    before, inside_released, inside_undone, after = uuid4(), uuid4(), uuid4(), uuid4()
    async with unit_of_work(resources) as session:
        await session.execute(text("SELECT 1"))
        defer_event(session, _event(project_id, before))
        async with session.begin_nested():
            defer_event(session, _event(project_id, inside_released))
        savepoint = await session.begin_nested()
        defer_event(session, _event(project_id, inside_undone))
        await savepoint.rollback()
        defer_event(session, _event(project_id, after))
    assert await _published(resources.redis, project_id) == [
        before.hex,
        inside_released.hex,
        after.hex,
    ]


async def test_a_released_savepoint_is_undone_with_its_transaction(
    resources: Resources, clean_state: None
) -> None:
    project_id = uuid4()

    async def release_then_fail(session: AsyncSession) -> None:
        async with session.begin_nested():
            defer_event(session, _event(project_id, uuid4()))
        raise BoomError

    with pytest.raises(BoomError):
        await _unit_of_work(resources, release_then_fail)
    assert await _published(resources.redis, project_id) == []


async def test_what_committed_before_a_failure_is_still_published(
    resources: Resources, clean_state: None
) -> None:
    project_id, committed, undone = uuid4(), uuid4(), uuid4()

    async def commit_then_fail(session: AsyncSession) -> None:
        defer_event(session, _event(project_id, committed))
        await session.commit()
        defer_event(session, _event(project_id, undone))
        raise BoomError

    with pytest.raises(BoomError):
        await _unit_of_work(resources, commit_then_fail)
    assert await _published(resources.redis, project_id) == [committed.hex]


async def test_redis_down_after_a_commit_is_logged_not_raised(
    resources: Resources, tmp_path: Path, clean_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    # A real client to a port nobody listens on: the commit is durable, the event is lost.
    nowhere = unreachable_redis()
    try:
        async with resources.session_factory() as session:
            defer_event(session, _event(uuid4(), uuid4()))
            await session.commit()
            assert await publish_committed(session, EventPublisher(settings.events, nowhere)) == 0
    finally:
        await nowhere.aclose()
    assert "event_publish_failed" in capsys.readouterr().out


@pytest.fixture
async def request_app(resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """A route written like any service route: it defers an event and may then fail."""
    app = FastAPI()
    app.state.resources = resources
    install_error_handlers(app)

    @app.post("/runs/{project_id}/{run_id}")
    async def finish_run(project_id: UUID, run_id: UUID, fail: bool, session: SessionDep) -> str:
        await session.execute(text("SELECT 1"))
        defer_event(session, _event(project_id, run_id))
        if fail:
            raise BoomError
        return "ok"

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_the_request_session_publishes_once_the_request_committed(
    request_app: httpx.AsyncClient, resources: Resources, clean_state: None
) -> None:
    project_id, done, failed = uuid4(), uuid4(), uuid4()
    assert (await request_app.post(f"/runs/{project_id}/{done}?fail=false")).status_code == 200
    assert (await request_app.post(f"/runs/{project_id}/{failed}?fail=true")).status_code == 500
    assert await _published(resources.redis, project_id) == [done.hex]


async def test_sessions_keep_their_events_apart(resources: Resources, clean_state: None) -> None:
    project_id, mine = uuid4(), uuid4()
    async with resources.session_factory() as other:
        defer_event(other, _event(project_id, uuid4()))
        async with unit_of_work(resources) as session:
            defer_event(session, _event(project_id, mine))
        await other.rollback()
    assert await _published(resources.redis, project_id) == [mine.hex]
