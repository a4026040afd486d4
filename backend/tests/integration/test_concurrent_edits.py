import asyncio

from httpx import AsyncClient

from app.resources import Resources
from tests.factories import auth_headers, create_project, create_user, seed_document


async def test_twenty_edits_from_one_version_let_exactly_one_through(
    client: AsyncClient, resources: Resources
) -> None:
    headers = auth_headers(resources, await create_user(resources, "race@example.com"))
    project = await create_project(client, headers)
    await seed_document(resources, project["id"], "idea", ["# v1\n"])
    path = f"/api/v1/projects/{project['id']}/documents/idea"

    async def edit(n: int) -> int:
        response = await client.put(
            path, json={"content": f"# edit {n}\n"}, headers={**headers, "If-Match": '"1"'}
        )
        return response.status_code

    statuses = await asyncio.gather(*(edit(n) for n in range(20)))
    assert sorted(statuses) == [200] + [412] * 19
    versions = (await client.get(f"{path}/versions", headers=headers)).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["parent_version"] == 1
