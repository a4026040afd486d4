from httpx import AsyncClient

from app.resources import Resources
from tests.factories import auth_headers, create_project, create_user, seed_messages


async def test_the_chat_log_pages_both_ways(client: AsyncClient, resources: Resources) -> None:
    headers = auth_headers(resources, await create_user(resources, "chat@example.com"))
    project = await create_project(client, headers)
    ids = await seed_messages(resources, project["id"], [f"m{n}" for n in range(7)])
    path = f"/api/v1/projects/{project['id']}/messages"

    newest = (await client.get(path, params={"limit": 3}, headers=headers)).json()
    assert [m["content"] for m in newest["items"]] == ["m4", "m5", "m6"]
    assert newest["newer_cursor"] is None
    assert newest["older_cursor"] == str(ids[4])

    older = (
        await client.get(
            path, params={"limit": 3, "before": newest["older_cursor"]}, headers=headers
        )
    ).json()
    assert [m["content"] for m in older["items"]] == ["m1", "m2", "m3"]
    first = (
        await client.get(
            path, params={"limit": 3, "before": older["older_cursor"]}, headers=headers
        )
    ).json()
    assert [m["content"] for m in first["items"]] == ["m0"]
    assert first["older_cursor"] is None

    forward = (
        await client.get(path, params={"limit": 4, "after": str(ids[0])}, headers=headers)
    ).json()
    assert [m["content"] for m in forward["items"]] == ["m1", "m2", "m3", "m4"]
    assert forward["newer_cursor"] == str(ids[4])
    assert forward["items"][0]["role"] == "user"

    both = await client.get(
        path, params={"before": str(ids[3]), "after": str(ids[1])}, headers=headers
    )
    assert both.status_code == 400


async def test_a_cursor_from_another_project_is_not_found(
    client: AsyncClient, resources: Resources
) -> None:
    headers = auth_headers(resources, await create_user(resources, "c@example.com"))
    mine = await create_project(client, headers, "mine")
    other = await create_project(client, headers, "other")
    foreign = await seed_messages(resources, other["id"], ["secret from other"])
    response = await client.get(
        f"/api/v1/projects/{mine['id']}/messages",
        params={"after": str(foreign[0])},
        headers=headers,
    )
    assert response.status_code == 404
    assert "secret from other" not in response.text


async def test_progress_is_one_snapshot_of_stages_and_documents(
    client: AsyncClient, resources: Resources
) -> None:
    from tests.factories import seed_document

    headers = auth_headers(resources, await create_user(resources, "p@example.com"))
    project = await create_project(client, headers)
    await seed_document(resources, project["id"], "idea", ["v1", "v2"])
    progress = (
        await client.get(f"/api/v1/projects/{project['id']}/progress", headers=headers)
    ).json()
    assert progress["current_stage"] == "idea"
    assert [(s["stage"], s["status"]) for s in progress["stages"]] == [
        ("idea", "not_started"),
        ("specs", "not_started"),
        ("architecture", "not_started"),
        ("plan", "not_started"),
    ]
    assert [(d["document_type"], d["active_version"]) for d in progress["documents"]] == [
        ("idea", 2),
        ("specs", None),
        ("architecture", None),
        ("plan", None),
    ]
