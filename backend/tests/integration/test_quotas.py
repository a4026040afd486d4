"""What one user may hold at once: runs waiting per project and over all their projects, and
projects owned. Over a cap the request is refused with its own code and nothing is recorded."""

from pathlib import Path
from typing import Any

from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from tests.conftest import client_for, make_settings
from tests.factories import add_member, auth_headers, create_project, create_user


async def _post(client: AsyncClient, headers: dict[str, str], project: Any, text: str) -> Any:
    return await client.post(
        f"/api/v1/projects/{project['id']}/messages", json={"content": text}, headers=headers
    )


async def _messages(client: AsyncClient, headers: dict[str, str], project: Any) -> list[str]:
    response = await client.get(f"/api/v1/projects/{project['id']}/messages", headers=headers)
    return [item["content"] for item in response.json()["items"]]


async def test_runs_waiting_beyond_the_caps_are_refused_and_nothing_is_recorded(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    # No worker: every run stays queued.
    settings = make_settings(
        tmp_path, quota_queued_runs_per_project=2, quota_queued_runs_per_user=3
    )
    async with client_for(settings, endpoints) as (client, resources):
        owner = auth_headers(resources, await create_user(resources, "owner@example.com"))
        editor = auth_headers(resources, await create_user(resources, "editor@example.com"))
        first = await create_project(client, owner, "first")
        second = await create_project(client, owner, "second")
        await add_member(client, resources, owner, second["id"], "editor@example.com", "editor")
        accepted = [(await _post(client, owner, first, f"m{n}")).status_code for n in (1, 2)]
        over_project = await _post(client, owner, first, "m3")
        in_second = await _post(client, owner, second, "s1")
        over_user = await _post(client, owner, second, "s2")
        by_another = await _post(client, editor, second, "from the editor")
        first_messages = await _messages(client, owner, first)
        second_messages = await _messages(client, owner, second)
    assert accepted == [202, 202]
    assert over_project.status_code == 429
    assert over_project.headers["Retry-After"] == "5"
    assert over_project.json()["error"]["code"] == "run_queue_full"
    assert over_project.json()["error"]["details"] == {"scope": "project", "limit": 2}
    assert in_second.status_code == 202
    assert over_user.status_code == 429
    assert over_user.json()["error"]["details"] == {"scope": "user", "limit": 3}
    # Another member of a project with room is not held to the first user's count.
    assert by_another.status_code == 202
    assert first_messages == ["m1", "m2"]
    assert second_messages == ["s1", "from the editor"]


async def test_a_user_cannot_own_more_projects_than_the_cap(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, quota_projects_per_user=2)
    async with client_for(settings, endpoints) as (client, resources):
        owner = auth_headers(resources, await create_user(resources, "owner@example.com"))
        other = auth_headers(resources, await create_user(resources, "other@example.com"))
        await create_project(client, owner, "one")
        await create_project(client, owner, "two")
        refused = await client.post("/api/v1/projects", json={"name": "three"}, headers=owner)
        theirs = await client.post("/api/v1/projects", json={"name": "mine"}, headers=other)
        listed = await client.get("/api/v1/projects", headers=owner)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "project_limit_reached"
    assert refused.json()["error"]["details"] == {"limit": 2}
    assert theirs.status_code == 201
    assert sorted(item["name"] for item in listed.json()) == ["one", "two"]
