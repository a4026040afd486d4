"""`serve` believes X-Forwarded-For / -Proto only from the proxies JEEX_FORWARDED_ALLOW_IPS
names: a local client cannot choose the address the per-IP sign-in limit counts."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from app.cli import serve_config
from app.core.config import SettingsError, load_settings
from app.core.infrastructure import Endpoints
from app.main import create_app
from app.resources import Resources
from tests.conftest import make_settings
from tests.e2e.helpers import free_port
from tests.support.live_server import serve_config_in_process

PROVIDERS = "/api/v1/auth/providers"  # public, and under the per-IP sign-in limit


@asynccontextmanager
async def _serve(
    tmp_path: Path, endpoints: Endpoints, **overrides: object
) -> AsyncIterator[tuple[str, Resources]]:
    settings = make_settings(tmp_path, rate_limit_auth_per_window=2, **overrides)
    app = create_app(settings, replace(endpoints, qdrant_path=tmp_path / "qdrant"))
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        stale = [key async for key in resources.redis.scan_iter("rl:ip:auth:*")]
        if stale:
            await resources.redis.delete(*stale)
        config = serve_config(app, settings, "127.0.0.1", free_port())
        async with serve_config_in_process(config) as base_url:
            yield base_url, resources


async def _limited_keys(resources: Resources) -> list[str]:
    return sorted([key.decode() async for key in resources.redis.scan_iter("rl:ip:auth:*")])


async def test_by_default_a_forwarded_address_does_not_reset_the_sign_in_limit(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    async with _serve(tmp_path, endpoints) as (base_url, resources):
        async with httpx.AsyncClient(base_url=base_url) as http:
            statuses = [
                (
                    await http.get(PROVIDERS, headers={"X-Forwarded-For": f"203.0.113.{n}"})
                ).status_code
                for n in range(3)
            ]
            proto = await http.get(PROVIDERS, headers={"X-Forwarded-Proto": "https"})
        keys = await _limited_keys(resources)
    assert statuses == [200, 200, 429]
    assert keys == ["rl:ip:auth:127.0.0.1"]
    # Nor may a client claim https for itself (HSTS follows the scheme).
    assert "strict-transport-security" not in proto.headers


async def test_a_configured_proxy_has_its_forwarded_address_counted(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    async with _serve(tmp_path, endpoints, forwarded_allow_ips=["127.0.0.1"]) as (
        base_url,
        resources,
    ):
        async with httpx.AsyncClient(base_url=base_url) as http:
            statuses = [
                (
                    await http.get(PROVIDERS, headers={"X-Forwarded-For": f"203.0.113.{n}"})
                ).status_code
                for n in range(3)
            ]
            proto = await http.get(
                PROVIDERS,
                headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            )
        keys = await _limited_keys(resources)
    assert statuses == [200, 200, 200]
    assert keys == [f"rl:ip:auth:203.0.113.{n}" for n in (0, 1, 2, 9)]
    assert proto.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(
    ("value", "message"),
    [("127.0.0.1,proxy.local", "'proxy.local' is not an IP address"), ("*,10.0.0.1", "`*`")],
)
def test_a_malformed_forwarded_allow_ips_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("JEEX_FORWARDED_ALLOW_IPS", value)
    with pytest.raises(SettingsError, match="JEEX_FORWARDED_ALLOW_IPS") as raised:
        load_settings()
    assert message in str(raised.value)


def test_forwarded_allow_ips_takes_addresses_and_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JEEX_FORWARDED_ALLOW_IPS", "10.0.0.0/8, ::1")
    settings = load_settings()
    assert settings.http.forwarded_allow_ips == ("10.0.0.0/8", "::1")
    config = serve_config(create_app(settings, _unused_endpoints()), settings, "127.0.0.1", 1)
    assert (config.proxy_headers, config.forwarded_allow_ips) == (True, ["10.0.0.0/8", "::1"])


def _unused_endpoints() -> Endpoints:
    return Endpoints(
        database_url="postgresql+asyncpg://u@127.0.0.1:1/db",
        redis_url="redis://127.0.0.1:1/0",
        qdrant_url="http://127.0.0.1:1",
        qdrant_path=None,
        embedded=frozenset(),
    )
