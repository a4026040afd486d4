"""The budgets members see, and the owner's reset of the project's budget."""

from httpx import AsyncClient

from app.llm.limits import CallLimits, LimitPolicy
from app.resources import Resources
from tests.factories import add_member, auth_headers, create_project, create_user


async def _spend(resources: Resources, project_id: object, user_id: object, tokens: int) -> None:
    limits = CallLimits(resources.redis, LimitPolicy.from_settings(resources.settings.llm))
    async with limits.admit(project_id=project_id, user_id=user_id, spent=lambda: tokens):  # type: ignore[arg-type]
        pass


async def test_members_see_the_budgets_and_only_an_owner_resets_the_projects(
    client: AsyncClient, resources: Resources
) -> None:
    owner_id = await create_user(resources, "owner@example.com")
    users = {"owner": owner_id}
    for name in ("editor", "viewer", "stranger"):
        users[name] = await create_user(resources, f"{name}@example.com")
    headers = {name: auth_headers(resources, user_id) for name, user_id in users.items()}
    project = await create_project(client, headers["owner"])
    for name in ("editor", "viewer"):
        await add_member(
            client, resources, headers["owner"], project["id"], f"{name}@example.com", name
        )
    await _spend(resources, project["id"], owner_id, 500)
    base = f"/api/v1/projects/{project['id']}/budget"

    as_viewer = (await client.get(base, headers=headers["viewer"])).json()
    refusals = {
        name: await client.post(f"{base}/reset", headers=headers[name])
        for name in ("stranger", "viewer", "editor")
    }
    reset = await client.post(f"{base}/reset", headers=headers["owner"])
    after = (await client.get(base, headers=headers["owner"])).json()

    limits = resources.settings.llm
    assert as_viewer["project"]["used"] == 500
    assert as_viewer["project"]["limit"] == limits.project_token_budget
    assert as_viewer["user"] == {
        "used": 0,
        "limit": limits.user_token_budget,
        "resets_in_seconds": None,
    }
    assert refusals["stranger"].status_code == 404
    assert refusals["stranger"].json()["error"]["code"] == "project_not_found"
    assert [refusals[name].status_code for name in ("viewer", "editor")] == [403, 403]
    assert reset.status_code == 200
    assert reset.json()["project"]["used"] == 0
    # The project's budget starts again; the owner's own allowance does not.
    assert after["project"]["used"] == 0
    assert after["user"]["used"] == 500
