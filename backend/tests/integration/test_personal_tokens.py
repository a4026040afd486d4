from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import update

from app.auth.models import PersonalAccessToken
from app.resources import Resources
from tests.factories import auth_headers, create_user

TOKENS = "/api/v1/auth/tokens"


async def _new_token(
    client: AsyncClient, headers: dict[str, str], **body: object
) -> dict[str, str]:
    response = await client.post(TOKENS, json={"name": "script", **body}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


async def test_a_token_is_shown_once_and_then_authenticates(
    client: AsyncClient, resources: Resources
) -> None:
    headers = auth_headers(resources, await create_user(resources, "pat@example.com"))
    created = await _new_token(client, headers, expires_in_days=30)
    assert created["token"].startswith("jxp_")
    assert created["token"].startswith(created["display_prefix"])
    assert created["expires_at"] is not None

    listed = (await client.get(TOKENS, headers=headers)).json()
    assert [item["id"] for item in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert listed[0]["last_used_at"] is None

    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert me.json()["email"] == "pat@example.com"
    after = (await client.get(TOKENS, headers=headers)).json()
    assert after[0]["last_used_at"] is not None


async def test_a_revoked_token_stops_working(client: AsyncClient, resources: Resources) -> None:
    headers = auth_headers(resources, await create_user(resources, "rev@example.com"))
    created = await _new_token(client, headers)
    assert (await client.delete(f"{TOKENS}/{created['id']}", headers=headers)).status_code == 204
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 401
    assert (await client.get(TOKENS, headers=headers)).json() == []
    again = await client.delete(f"{TOKENS}/{created['id']}", headers=headers)
    assert again.status_code == 404


async def test_an_expired_token_is_refused(client: AsyncClient, resources: Resources) -> None:
    headers = auth_headers(resources, await create_user(resources, "exp@example.com"))
    created = await _new_token(client, headers, expires_in_days=1)
    async with resources.session_factory() as session:
        await session.execute(
            update(PersonalAccessToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 401
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer jxp_nope"})
    ).status_code == 401


async def test_nobody_can_revoke_or_see_another_users_token(
    client: AsyncClient, resources: Resources
) -> None:
    ann = auth_headers(resources, await create_user(resources, "ann@example.com"))
    bob = auth_headers(resources, await create_user(resources, "bob@example.com"))
    anns = await _new_token(client, ann)
    assert (await client.delete(f"{TOKENS}/{anns['id']}", headers=bob)).status_code == 404
    assert (await client.get(TOKENS, headers=bob)).json() == []
    bearer = {"Authorization": f"Bearer {anns['token']}"}
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 200
