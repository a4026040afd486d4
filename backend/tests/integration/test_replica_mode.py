"""Extra API replicas start nothing themselves: every part comes from its URL."""

from pathlib import Path

import psutil
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url

from app.core.config import SettingsError
from app.core.embedded.redis import EmbeddedRedis
from app.core.infrastructure import Endpoints
from app.core.qdrant import create_qdrant
from app.main import app_from_environment
from tests.conftest import make_settings


def test_a_replica_without_urls_names_every_missing_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        Endpoints.from_settings(make_settings(tmp_path))
    for name in ("JEEX_DATABASE_URL", "JEEX_REDIS_URL", "JEEX_QDRANT_URL"):
        assert name in str(caught.value)


async def test_a_replica_serves_from_configured_urls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> None:
    plain_url = make_url(database_url).set(drivername="postgresql")
    monkeypatch.setenv("JEEX_DATABASE_URL", plain_url.render_as_string(hide_password=False))
    monkeypatch.setenv("JEEX_REDIS_URL", redis_server.url)
    monkeypatch.setenv("JEEX_QDRANT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("JEEX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JEEX_HEALTH_CHECK_TIMEOUT_SECONDS", "1")
    app = app_from_environment()
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        response = await client.get("/health/ready")
    body = response.json()
    # No Qdrant server listens on that port: the replica must say so rather than fall back.
    assert response.status_code == 503
    assert body["failed"] == ["qdrant"]
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


async def test_a_qdrant_url_selects_the_server_client(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, qdrant_api_key="k-123")
    endpoints = Endpoints(
        database_url="postgresql+asyncpg://u@h/d",
        redis_url="redis://127.0.0.1:1/0",
        qdrant_url="https://127.0.0.1:6333",
        qdrant_path=None,
        embedded=frozenset(),
    )
    client = create_qdrant(settings, endpoints)
    try:
        assert client.init_options["url"] == "https://127.0.0.1:6333"
        assert client.init_options["api_key"] == "k-123"
        assert not (tmp_path / "qdrant").exists()
    finally:
        await client.close()


def test_embedded_redis_replaces_a_server_left_by_a_crashed_run(tmp_path: Path) -> None:
    crashed = EmbeddedRedis(tmp_path)
    crashed.start()
    orphan_pid = crashed.pid
    assert orphan_pid > 0
    # No stop(): as after a SIGKILL, the daemonised server stays up on the same files.
    restarted = EmbeddedRedis(tmp_path)
    restarted.start()
    try:
        assert restarted.pid not in (0, orphan_pid)
        assert not psutil.pid_exists(orphan_pid) or psutil.Process(orphan_pid).status() == "zombie"
    finally:
        restarted.stop()
