"""Small builders for test data, and an explicit way to say who the caller is."""

from uuid import UUID

from httpx import AsyncClient

from app.core.resources import Resources
from app.users import repository as user_repository


async def create_user(resources: Resources, email: str, name: str | None = None) -> UUID:
    async with resources.session_factory() as session:
        user = await user_repository.add(session, email=email.lower(), name=name)
        await session.commit()
        return user.id


def auth_headers(resources: Resources, user_id: UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {resources.access_tokens.issue(user_id)}"}


async def create_project(
    client: AsyncClient, headers: dict[str, str], name: str = "Idea"
) -> dict[str, object]:
    response = await client.post("/api/v1/projects", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def add_member(
    client: AsyncClient,
    owner_headers: dict[str, str],
    project_id: object,
    email: str,
    role: str,
) -> None:
    response = await client.post(
        f"/api/v1/projects/{project_id}/members",
        json={"email": email, "role": role},
        headers=owner_headers,
    )
    assert response.status_code == 201, response.text
