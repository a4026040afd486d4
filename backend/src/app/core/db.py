"""Async SQLAlchemy: the declarative base, the engine, the unit of work and its after-commit
queue.

The transaction boundary is the request (or the job): :func:`unit_of_work` commits when its
block ends cleanly and rolls back when it raises. Side effects that must not happen on rollback
(events, jobs, purges) are queued next to the write with :func:`after_commit` (or, for a kind of
item that a hook releases in bulk, :func:`enqueue_after_commit`) and released only once the
transaction that queued them committed. A rollback drops what its transaction queued,
savepoints included: an item queued inside a ``begin_nested()`` block that rolls back is
dropped, the rest of the transaction's items stay.
"""

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, SessionTransaction, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from app.core.config import Settings

POSTGRES_NAMING_CONVENTION = {
    "ix": "%(column_0_label)s_idx",
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=POSTGRES_NAMING_CONVENTION)


class UUIDPrimaryKey:
    # PostgreSQL 18 generates time-ordered ids itself: inserts stay index-friendly and no
    # application clock is trusted.
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("uuidv7()"))


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


# A pooled connection unused for longer than this is pinged before it is handed out: long
# enough that a busy pool never pings, short enough that a connection a firewall or a restart
# dropped silently is found before a request uses it.
IDLE_PING_SECONDS = 30.0
_CHECKED_IN_AT = "app.db.checked_in_at"


def create_engine(settings: Settings, database_url: str) -> AsyncEngine:
    # Looked up on the module at call time, so OpenTelemetry's wrapper traces every engine.
    engine = sa_asyncio.create_async_engine(
        database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        # Not a ping per checkout (three round trips: BEGIN, SELECT, ROLLBACK, on every
        # request): see _refuse_broken_connections.
        pool_pre_ping=False,
        connect_args={
            "timeout": settings.database_connect_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(settings.database_statement_timeout_ms),
                "application_name": "jeex-idea",
            },
        },
    )
    sa_event.listen(engine.sync_engine, "checkout", _refuse_broken_connections)
    sa_event.listen(engine.sync_engine, "checkin", _note_checkin)
    return engine


def _refuse_broken_connections(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """Never hand out a pooled connection that is known to be gone.

    A backend that was terminated or restarted closes its socket, and asyncpg marks the
    connection closed as soon as the loop reads that: checking the mark costs no round trip.
    Only a connection that sat unused for a while, whose end may not have been seen (a
    firewall dropping idle connections says nothing), is pinged. Raising DisconnectionError
    makes the pool throw the connection away and check out another one.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")
    checked_in_at = record.info.get(_CHECKED_IN_AT)
    if checked_in_at is not None and time.monotonic() - checked_in_at > IDLE_PING_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError("an idle pooled connection did not answer") from error


def _note_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


CommitHook = Callable[[AsyncSession], Awaitable[object]]
"""Run by :func:`unit_of_work` once its transaction ended, committed or not, to release in bulk
what committed (events register their publishing this way)."""

_ON_COMMIT = "app.db.on_commit"


def create_session_factory(
    engine: AsyncEngine, *, on_commit: Sequence[CommitHook] = ()
) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, info={_ON_COMMIT: tuple(on_commit)}
    )


_READ_ONLY = "app.db.read_only"


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work that only read: each statement runs on its own, without the
    BEGIN and COMMIT around it (two of the three round trips of a one-query request). Under
    READ COMMITTED every statement sees its own snapshot anyway, inside a transaction or not.
    Same pool as the engine's."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        info={_READ_ONLY: True},
    )


@sa_event.listens_for(Session, "before_flush")
def _refuse_flush_when_read_only(session: Session, *_: object) -> None:
    # Changes to ORM objects can span statements, which without a transaction would each
    # commit alone: a reading unit of work that tries is a bug, said at once.
    if session.info.get(_READ_ONLY):
        raise ReadOnlyUnitOfWorkError("a read-only unit of work tried to write ORM changes")


class ReadOnlyUnitOfWorkError(RuntimeError):
    pass


AfterCommit = Callable[[], Awaitable[None]]
_CALLBACKS = "app.db.after_commit"
_PENDING = "app.db.pending"
_COMMITTED = "app.db.committed"


@dataclass(frozen=True, slots=True)
class _Queued:
    channel: str
    item: object
    # The innermost transaction open when the item was queued: a rollback drops exactly the
    # items whose transaction it undoes.
    transaction: SessionTransaction


def enqueue_after_commit(session: AsyncSession, channel: str, item: object) -> None:
    """Keep ``item`` under ``channel`` until ``session``'s current transaction commits (then
    :func:`take_committed` hands it out); drop it when that transaction rolls back."""
    sync = session.sync_session
    # Begun here if nothing ran yet (what the first statement would do anyway): a rollback
    # without a transaction reports nothing, and the item must still die with it.
    transaction = sync.get_nested_transaction() or sync.get_transaction() or sync.begin()
    session.info.setdefault(_PENDING, []).append(_Queued(channel, item, transaction))


def take_committed(session: AsyncSession, channel: str) -> list[Any]:
    """The items of ``channel`` whose transaction committed, in the order they were queued;
    each is handed out once."""
    committed: list[_Queued] = session.info.get(_COMMITTED, [])
    taken = [queued.item for queued in committed if queued.channel == channel]
    session.info[_COMMITTED] = [queued for queued in committed if queued.channel != channel]
    return taken


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction commits (dropped on rollback): side
    effects such as enqueuing a job must not refer to rows that may never exist."""
    enqueue_after_commit(session, _CALLBACKS, callback)


def discard_after_commit(session: AsyncSession) -> None:
    """Forget the callbacks queued so far, committed or not (a unit of work that failed runs
    none of them)."""
    session.info[_PENDING] = [
        queued for queued in session.info.get(_PENDING, []) if queued.channel != _CALLBACKS
    ]
    take_committed(session, _CALLBACKS)


async def run_after_commit(session: AsyncSession) -> None:
    for callback in take_committed(session, _CALLBACKS):
        await callback()


def _undone_by(queued: _Queued, rolled_back: SessionTransaction) -> bool:
    if rolled_back.parent is None:
        return True  # the whole transaction is gone, with every savepoint in it
    transaction: SessionTransaction | None = queued.transaction
    while transaction is not None:
        if transaction is rolled_back:
            return True
        transaction = transaction.parent
    return False


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Queued] | None = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [
            queued for queued in pending if not _undone_by(queued, previous_transaction)
        ]


@sa_event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a released savepoint: not durable until the outer transaction commits
    pending: list[_Queued] | None = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(pending)


class SessionSource(Protocol):
    """Whatever hands out sessions: the application's resources, or a job's collaborators."""

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]: ...


class ReadSessionSource(Protocol):
    @property
    def read_session_factory(self) -> async_sessionmaker[AsyncSession]: ...


@asynccontextmanager
async def read_only_unit_of_work(source: ReadSessionSource) -> AsyncIterator[AsyncSession]:
    """A session that only reads (see :func:`create_read_session_factory`): nothing to commit,
    nothing queued for after a commit."""
    async with source.read_session_factory() as session:
        yield session


@asynccontextmanager
async def unit_of_work(source: SessionSource) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block ends cleanly and rolls back when it
    raises; what it queued is released after the commit, or dropped with the rollback."""
    async with source.session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        finally:
            # Also after a failure: a service may have committed part of its work explicitly
            # before failing (e.g. revoking a reused token family), and that part happened.
            hooks: tuple[CommitHook, ...] = session.info.get(_ON_COMMIT, ())
            for hook in hooks:
                await hook(session)
        await run_after_commit(session)
