"""Migrations run both ways on real PostgreSQL 18 and match the models exactly."""

import asyncio

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import migrations
from app.models import Base


@pytest.fixture
def scratch_database_url(database_url: str) -> str:
    """A database of its own, so going down to base leaves the shared one alone."""
    scratch = make_url(database_url).set(database="migration_check")
    admin = make_url(database_url).set(drivername="postgresql", database="postgres")

    async def recreate() -> None:
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await connection.execute("DROP DATABASE IF EXISTS migration_check")
            await connection.execute("CREATE DATABASE migration_check")
        finally:
            await connection.close()

    asyncio.run(recreate())
    return scratch.render_as_string(hide_password=False)


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def _differences(url: str) -> list[object]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "compare_server_default": True}
                    ),
                    Base.metadata,
                )
            )
    finally:
        await engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(scratch_database_url: str) -> None:
    url = scratch_database_url
    migrations.upgrade(url)
    model_tables = set(Base.metadata.tables)
    assert model_tables <= asyncio.run(_tables(url))
    assert asyncio.run(migrations.current_revision(url)) == migrations.head_revision(url)

    migrations.downgrade(url, "base")
    assert asyncio.run(_tables(url)) & model_tables == set()
    assert asyncio.run(migrations.current_revision(url)) is None

    migrations.upgrade(url)
    assert model_tables <= asyncio.run(_tables(url))


def test_autogenerate_finds_no_difference_from_the_models(scratch_database_url: str) -> None:
    migrations.upgrade(scratch_database_url)
    assert asyncio.run(_differences(scratch_database_url)) == []


def test_migration_files_follow_the_date_slug_template() -> None:
    names = sorted(path.name for path in (migrations.MIGRATIONS_DIR / "versions").glob("*.py"))
    assert names
    assert all(len(name) > 11 and name[4] == "-" and name[10] == "_" for name in names)
