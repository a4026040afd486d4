import asyncio
from pathlib import Path

from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from tests.conftest import client_for, make_settings
from tests.factories import add_member, auth_headers, create_project, create_user, invite


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
        user_id = await create_user(resources, "p@example.com")
        headers = auth_headers(resources, user_id)
        busy = await create_project(client, headers, "busy")
        quiet = await create_project(client, headers, "quiet")
        busy_path = f"/api/v1/projects/{busy['id']}"
        assert await _statuses(client, busy_path, 3, headers=headers) == [200, 200, 429]
        quiet_path = f"/api/v1/projects/{quiet['id']}"
        assert (await client.get(quiet_path, headers=headers)).status_code == 200
        keys = {key async for key in resources.redis.scan_iter(match=f"proj:{busy['id']}:*")}
        # The member's counter, and the project's access stamp (read in the same round trip).
        assert keys == {
            f"proj:{busy['id']}:rl:user:{user_id}".encode(),
            f"proj:{busy['id']}:access".encode(),
        }


async def test_viewers_spending_their_allowance_never_limit_the_owner(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    """Two viewers use up their allowance in the project; the owner still reads and manages
    members (list, invite, list and withdraw invitations, change a role, remove), and each
    viewer gets 429 with Retry-After."""
    allowance = 5
    settings = make_settings(
        tmp_path, rate_limit_project_per_window=allowance, rate_limit_window_seconds=60
    )
    async with client_for(settings, endpoints) as (client, resources):
        owner_id = await create_user(resources, "owner@example.com")
        owner = auth_headers(resources, owner_id)
        project = await create_project(client, owner, "Shared")
        path = f"/api/v1/projects/{project['id']}"
        viewers = {}
        for name in ("v1", "v2"):
            viewer_id = await create_user(resources, f"{name}@example.com")
            await add_member(
                client, resources, owner, project["id"], f"{name}@example.com", "viewer"
            )
            viewers[name] = (viewer_id, auth_headers(resources, viewer_id))
        # The owner's two invitations used two of their own requests in the project.
        for _, headers in viewers.values():
            statuses = await _statuses(client, path, allowance + 3, headers=headers)
            assert statuses == [200] * allowance + [429] * 3
            limited = await client.get(f"{path}/members", headers=headers)
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.json()["error"]["details"]["scope"] == "project"

        read = await client.get(path, headers=owner)
        assert (read.status_code, read.json()["name"]) == (200, "Shared")
        # Two of the owner's own five went on the invitations; the read is the third, and the
        # last two go on member management.
        v1_id = viewers["v1"][0]
        demoted = await client.patch(
            f"{path}/members/{v1_id}", json={"role": "editor"}, headers=owner
        )
        assert (demoted.status_code, demoted.json()["role"]) == (200, "editor")
        removed = await client.delete(f"{path}/members/{viewers['v2'][0]}", headers=owner)
        assert removed.status_code == 204
        # The owner is now at their own allowance, and only that stops them.
        own = await client.get(f"{path}/members", headers=owner)
        assert own.status_code == 429
        keys = {key async for key in resources.redis.scan_iter(match=f"proj:{project['id']}:rl:*")}
        assert keys == {
            f"proj:{project['id']}:rl:user:{user_id}".encode()
            for user_id in (owner_id, v1_id, viewers["v2"][0])
        }


async def test_member_management_outlasts_any_number_of_busy_members(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    """With the allowance of a real deployment, viewers hammering the project leave the owner's
    listing, inviting and removing untouched."""
    settings = make_settings(tmp_path, rate_limit_project_per_window=30)
    async with client_for(settings, endpoints) as (client, resources):
        owner = auth_headers(resources, await create_user(resources, "owner@example.com"))
        project = await create_project(client, owner, "Busy")
        path = f"/api/v1/projects/{project['id']}"
        viewer_ids = []
        for name in ("a", "b"):
            viewer_ids.append(await create_user(resources, f"{name}@example.com"))
            await add_member(
                client, resources, owner, project["id"], f"{name}@example.com", "viewer"
            )
        for viewer_id in viewer_ids:
            headers = auth_headers(resources, viewer_id)
            statuses = await asyncio.gather(
                *(client.get(f"{path}/documents", headers=headers) for _ in range(40))
            )
            assert sorted(r.status_code for r in statuses) == [200] * 30 + [429] * 10
        members = await client.get(f"{path}/members", headers=owner)
        assert [m["email"] for m in members.json()] == [
            "owner@example.com",
            "a@example.com",
            "b@example.com",
        ]
        invited = await invite(client, owner, project["id"], "c@example.com", "viewer")
        listed = await client.get(f"{path}/invitations", headers=owner)
        assert [(i["id"], i["email"]) for i in listed.json() if i["status"] == "pending"] == [
            (invited["id"], "c@example.com")
        ]
        for viewer_id in viewer_ids:
            removed = await client.delete(f"{path}/members/{viewer_id}", headers=owner)
            assert removed.status_code == 204
        assert [
            m["email"] for m in (await client.get(f"{path}/members", headers=owner)).json()
        ] == ["owner@example.com"]
