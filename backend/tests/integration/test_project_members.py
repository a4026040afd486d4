from httpx import AsyncClient

from app.resources import Resources
from tests.factories import add_member, auth_headers, create_project, create_user

P = "/api/v1/projects"


async def _project_with(
    client: AsyncClient, resources: Resources
) -> tuple[str, dict[str, dict[str, str]], dict[str, str]]:
    ids = {
        name: await create_user(resources, f"{name}@example.com", name=name.title())
        for name in ("owner", "editor", "viewer")
    }
    headers = {name: auth_headers(resources, user_id) for name, user_id in ids.items()}
    project = await create_project(client, headers["owner"])
    await add_member(
        client, resources, headers["owner"], project["id"], "editor@example.com", "editor"
    )
    await add_member(
        client, resources, headers["owner"], project["id"], "VIEWER@example.com", "viewer"
    )
    return str(project["id"]), headers, {name: str(user_id) for name, user_id in ids.items()}


async def test_members_are_listed_with_their_roles(
    client: AsyncClient, resources: Resources
) -> None:
    project_id, headers, _ = await _project_with(client, resources)
    members = (await client.get(f"{P}/{project_id}/members", headers=headers["viewer"])).json()
    assert [(m["email"], m["role"]) for m in members] == [
        ("owner@example.com", "owner"),
        ("editor@example.com", "editor"),
        ("viewer@example.com", "viewer"),
    ]
    seen = (await client.get(f"{P}/{project_id}", headers=headers["viewer"])).json()
    assert seen["role"] == "viewer"


async def test_the_last_owner_can_neither_leave_nor_be_demoted(
    client: AsyncClient, resources: Resources
) -> None:
    project_id, headers, ids = await _project_with(client, resources)
    owner_path = f"{P}/{project_id}/members/{ids['owner']}"
    demote = await client.patch(owner_path, json={"role": "editor"}, headers=headers["owner"])
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_owner"
    assert (await client.delete(owner_path, headers=headers["owner"])).status_code == 409

    promote = await client.patch(
        f"{P}/{project_id}/members/{ids['editor']}",
        json={"role": "owner"},
        headers=headers["owner"],
    )
    assert promote.json()["role"] == "owner"
    assert (await client.delete(owner_path, headers=headers["owner"])).status_code == 204
    assert (await client.get(f"{P}/{project_id}", headers=headers["owner"])).status_code == 404


async def test_any_member_may_leave(client: AsyncClient, resources: Resources) -> None:
    project_id, headers, ids = await _project_with(client, resources)
    leave = await client.delete(
        f"{P}/{project_id}/members/{ids['viewer']}", headers=headers["viewer"]
    )
    assert leave.status_code == 204
    assert (await client.get(f"{P}/{project_id}", headers=headers["viewer"])).status_code == 404
    assert (await client.get(P, headers=headers["viewer"])).json() == []


async def test_inviting_a_member_or_changing_a_stranger_is_refused(
    client: AsyncClient, resources: Resources
) -> None:
    project_id, headers, _ = await _project_with(client, resources)
    again = await client.post(
        f"{P}/{project_id}/members",
        json={"email": "Editor@example.com", "role": "viewer"},
        headers=headers["owner"],
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "member_exists"
    missing = await client.patch(
        f"{P}/{project_id}/members/{ids_placeholder()}",
        json={"role": "viewer"},
        headers=headers["owner"],
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "member_not_found"


def ids_placeholder() -> str:
    return "01937a54-0000-7000-8000-00000000dead"


async def test_language_cannot_be_set_through_the_api(
    client: AsyncClient, resources: Resources
) -> None:
    project_id, headers, _ = await _project_with(client, resources)
    response = await client.patch(
        f"{P}/{project_id}", json={"language": "en"}, headers=headers["owner"]
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "language"]
    renamed = await client.patch(
        f"{P}/{project_id}", json={"name": "Renamed", "description": "d"}, headers=headers["owner"]
    )
    assert renamed.json()["name"] == "Renamed"
    assert renamed.json()["language"] is None


async def test_deleting_a_project_removes_its_redis_keys(
    client: AsyncClient, resources: Resources
) -> None:
    project_id, headers, _ = await _project_with(client, resources)
    other = await create_project(client, headers["owner"], name="Other")
    await resources.redis.set(f"proj:{project_id}:cache:doc", "x")
    await resources.redis.set(f"proj:{other['id']}:cache:doc", "y")
    assert (await client.delete(f"{P}/{project_id}", headers=headers["owner"])).status_code == 204
    assert [key async for key in resources.redis.scan_iter(match=f"proj:{project_id}:*")] == []
    assert await resources.redis.get(f"proj:{other['id']}:cache:doc") == b"y"
    assert (
        await client.get(f"{P}/{project_id}/members", headers=headers["owner"])
    ).status_code == 404
