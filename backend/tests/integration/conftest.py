"""Fixtures the integration tests of several folders share."""

from collections.abc import AsyncIterator

import pytest

from app.core.config import Settings
from app.core.embedded.redis import EmbeddedRedis
from tests.support.live_server import Replica


@pytest.fixture(scope="module")
async def replica(
    app: object,  # the tests' app: it creates the signing key the replica then shares
    settings: Settings,
    database_url: str,
    redis_server: EmbeddedRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Replica]:
    """Another API process on the tests' database and Redis, as a production replica."""
    log = tmp_path_factory.mktemp("replica") / "replica.log"
    server = Replica(settings.data_dir, database_url, redis_server.url, log)
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()
