import asyncio
from pathlib import Path

from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from tests.conftest import client_for, make_settings
from tests.factories import auth_headers, create_project, create_user


async def _statuses(client: AsyncClient, path: str, n: int, **kwargs: object) -> list[int]:
    return [(await client.get(path, **kwargs)).status_code for _ in range(n)]  # type: ignore[arg-type]


async def test_auth_endpoints_are_limited_per_address_and_recover(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, rate_limit_auth_per_window=3, rate_limit_window_seconds=1)
    async with client_for(settings, endpoints) as (client, _):
        assert await _statuses(client, "/api/v1/auth/providers", 3) == [200, 200, 200]
        limited = await client.get("/api/v1/auth/providers")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.json()["error"]["details"] == {"scope": "address", "retry_after": 1}
        await asyncio.sleep(1.1)
        assert (await client.get("/api/v1/auth/providers")).status_code == 200


async def test_each_user_has_their_own_budget(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, rate_limit_user_per_window=2, rate_limit_window_seconds=30)
    async with client_for(settings, endpoints) as (client, resources):
        ann = auth_headers(resources, await create_user(resources, "ann@example.com"))
        bob = auth_headers(resources, await create_user(resources, "bob@example.com"))
        assert await _statuses(client, "/api/v1/auth/me", 3, headers=ann) == [200, 200, 429]
        assert await _statuses(client, "/api/v1/auth/me", 2, headers=bob) == [200, 200]


async def test_each_project_has_its_own_budget(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(
        tmp_path, rate_limit_project_per_window=2, rate_limit_window_seconds=30
    )
    async with client_for(settings, endpoints) as (client, resources):
        headers = auth_headers(resources, await create_user(resources, "p@example.com"))
        busy = await create_project(client, headers, "busy")
        quiet = await create_project(client, headers, "quiet")
        busy_path = f"/api/v1/projects/{busy['id']}"
        assert await _statuses(client, busy_path, 3, headers=headers) == [200, 200, 429]
        quiet_path = f"/api/v1/projects/{quiet['id']}"
        assert (await client.get(quiet_path, headers=headers)).status_code == 200
        keys = [key async for key in resources.redis.scan_iter(match=f"proj:{busy['id']}:*")]
        assert keys == [f"proj:{busy['id']}:rl".encode()]
