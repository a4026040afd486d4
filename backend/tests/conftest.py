"""Session-wide real parts: embedded PostgreSQL 18 and a Valkey server in a temp dir.

Nothing here touches the machine's own services: both servers are started from the wheels the
project depends on, on a Unix socket and a free loopback port, and stopped at the end.
"""

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import migrations
from app.core.config import Settings
from app.core.embedded.postgres import EmbeddedPostgres
from app.core.embedded.redis import EmbeddedRedis
from app.core.infrastructure import Endpoints, Part
from app.main import create_app
from app.models import Base
from app.resources import Resources


def pytest_configure(config: pytest.Config) -> None:
    # pytest prunes old numbered temp dirs under one shared root, so a second test run on the
    # machine could delete this run's live PostgreSQL data dir; each run gets its own root.
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="jeex-tests-")
        config.stash[_OWN_BASETEMP] = Path(config.option.basetemp)


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_OWN_BASETEMP, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)


_OWN_BASETEMP = pytest.StashKey[Path]()

# The suite must not pick up a developer's own configuration.
for _name in [name for name in os.environ if name.startswith("JEEX_")]:
    del os.environ[_name]


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    # Test apps share one Redis, and so one job queue: only a test that runs conversations
    # starts a worker, or another app's worker could take its jobs.
    values: dict[str, object] = {"log_format": "console", "worker_in_process": False}
    return Settings(data_dir=data_dir, **(values | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(postgres_server: EmbeddedPostgres) -> str:
    url = postgres_server.url()
    asyncio.run(migrations.ensure_database_exists(url, connect_timeout=10))
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def endpoints(settings: Settings, database_url: str, redis_server: EmbeddedRedis) -> Endpoints:
    return Endpoints(
        database_url=database_url,
        redis_url=redis_server.url,
        qdrant_url=None,
        qdrant_path=settings.data_dir / "qdrant",
        embedded=frozenset({Part.DATABASE, Part.REDIS, Part.QDRANT}),
    )


@pytest.fixture(scope="session")
async def app(settings: Settings, endpoints: Endpoints) -> AsyncIterator[FastAPI]:
    application = create_app(settings, endpoints)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def resources(app: FastAPI) -> Resources:
    value: Resources = app.state.resources
    return value


@pytest.fixture
async def clean_state(resources: Resources) -> AsyncIterator[None]:
    """Each test starts from empty tables and an empty Redis, whatever the last one did."""
    yield
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with resources.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await resources.redis.flushdb()


# https: the refresh cookie is Secure, and a cookie jar never sends those over plain http.
BASE_URL = "https://test"


@pytest.fixture
async def client(app: FastAPI, clean_state: None) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL) as http:
        yield http


@asynccontextmanager
async def client_for(
    settings: Settings, endpoints: Endpoints
) -> AsyncIterator[tuple[AsyncClient, Resources]]:
    """A separate app with its own settings (and Qdrant folder), for tests that change them."""
    own = replace(endpoints, qdrant_path=settings.data_dir / "qdrant")
    application = create_app(settings, own)
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url=BASE_URL) as http,
    ):
        yield http, application.state.resources


@pytest.fixture
async def session(resources: Resources, clean_state: None) -> AsyncIterator[AsyncSession]:
    async with resources.session_factory() as db_session:
        yield db_session
        await db_session.rollback()


@pytest.fixture
def redis(resources: Resources) -> Redis:
    return resources.redis
