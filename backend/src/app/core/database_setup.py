"""Bringing the database to a usable state before anything serves requests."""

import asyncio
from enum import StrEnum

import asyncpg
from sqlalchemy.engine import make_url
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_before_delay,
    wait_exponential_jitter,
)

from app.core import migrations
from app.core.config import Settings


class DatabaseUnavailableError(Exception):
    """The database did not accept a connection within the start-up deadline."""


def describe_database(database_url: str) -> str:
    url = make_url(database_url)
    where = url.host or url.query.get("host") or "local socket"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL database {url.database!r} at {where}{port}"


async def wait_for_database(settings: Settings, database_url: str, deadline: float) -> None:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        async for attempt in AsyncRetrying(
            stop=stop_before_delay(deadline),
            wait=wait_exponential_jitter(initial=0.2, max=2.0),
            retry=retry_if_exception_type((OSError, asyncpg.PostgresError, TimeoutError)),
            reraise=True,
        ):
            with attempt:
                connection = await asyncpg.connect(
                    dsn, timeout=min(settings.database_connect_timeout_seconds, deadline)
                )
                await connection.close()
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise DatabaseUnavailableError(
            f"cannot connect to the {describe_database(database_url)} "
            f"within {deadline:g}s ({type(error).__name__})"
        ) from error


class SchemaOutOfDateError(Exception):
    """An external database is behind the code's migrations."""


class SchemaPolicy(StrEnum):
    MIGRATE = "migrate"
    """Upgrade to head (``serve``, and any command on an embedded database)."""
    REQUIRE_HEAD = "require_head"
    """Refuse to work on an external database that is behind the code."""
    LEAVE = "leave"
    """Touch nothing: the ``db`` commands manage the schema themselves."""


async def prepare_database(
    settings: Settings,
    database_url: str,
    *,
    embedded: bool,
    schema: SchemaPolicy,
) -> None:
    """Wait for the server, create the database on an embedded one, then apply ``schema``.

    Changing a shared, external schema is a deliberate ``jeex-idea db upgrade`` or ``serve``,
    never a side effect of another command.
    """
    deadline = settings.database_startup_timeout_seconds
    if embedded:
        await wait_for_database(settings, _maintenance_url(database_url), deadline)
        await migrations.ensure_database_exists(
            database_url, settings.database_connect_timeout_seconds
        )
    else:
        await wait_for_database(settings, database_url, deadline)
    if schema is SchemaPolicy.LEAVE:
        return
    if schema is SchemaPolicy.MIGRATE or embedded:
        await asyncio.to_thread(migrations.upgrade, database_url)
        return
    current = await migrations.current_revision(database_url)
    head = migrations.head_revision(database_url)
    if current != head:
        raise SchemaOutOfDateError(
            f"the database schema is at {current or 'no revision'}, the code expects {head}; "
            "run `jeex-idea db upgrade`"
        )


def _maintenance_url(database_url: str) -> str:
    return make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
