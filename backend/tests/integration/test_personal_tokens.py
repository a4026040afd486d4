import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from app.auth import service as auth_service
from app.auth.exceptions import PersonalTokenLimitError
from app.auth.models import PersonalAccessToken
from app.auth.schemas import PersonalTokenCreate
from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.conftest import client_for, make_settings
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


async def test_a_personal_token_cannot_mint_another(
    client: AsyncClient, resources: Resources
) -> None:
    """A child token would outlive its parent's revocation (and expiry): refused outright."""
    headers = auth_headers(resources, await create_user(resources, "mint@example.com"))
    parent = await _new_token(client, headers, expires_in_days=1)
    bearer = {"Authorization": f"Bearer {parent['token']}"}
    refused = await client.post(TOKENS, json={"name": "child"}, headers=bearer)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "personal_token_not_allowed"
    assert "token" not in refused.json()
    listed = (await client.get(TOKENS, headers=headers)).json()
    assert [item["id"] for item in listed] == [parent["id"]]
    # Revoking the parent leaves nothing of it behind that still works.
    assert (await client.delete(f"{TOKENS}/{parent['id']}", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 401
    assert (await client.get(TOKENS, headers=headers)).json() == []


async def test_a_user_holds_a_bounded_number_of_active_tokens(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, max_personal_tokens_per_user=2)
    async with client_for(settings, endpoints) as (client, resources):
        user_id = await create_user(resources, "cap@example.com")
        headers = auth_headers(resources, user_id)
        first = await _new_token(client, headers, expires_in_days=1)
        await _new_token(client, headers)
        over = await client.post(TOKENS, json={"name": "third"}, headers=headers)
        assert over.status_code == 409
        assert over.json()["error"] == {
            "code": "token_limit_reached",
            "message": "A user holds at most 2 active personal access tokens; revoke one first.",
            "details": {"limit": 2},
            "correlation_id": over.json()["error"]["correlation_id"],
        }
        # Revoked and expired tokens do not count.
        await client.delete(f"{TOKENS}/{first['id']}", headers=headers)
        third = await _new_token(client, headers, expires_in_days=1)
        async with resources.session_factory() as session:
            await session.execute(
                update(PersonalAccessToken)
                .where(PersonalAccessToken.id == UUID(third["id"]))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
            await session.commit()
        await _new_token(client, headers)
        assert len((await client.get(TOKENS, headers=headers)).json()) == 3
        # Another user has an allowance of their own.
        other = auth_headers(resources, await create_user(resources, "free@example.com"))
        await _new_token(client, other)

        # The operator's path (`jeex-idea tokens create`) is held to the same cap.
        async with resources.session_factory() as session:
            with pytest.raises(PersonalTokenLimitError):
                await auth_service.create_personal_token(
                    session,
                    user_id,
                    PersonalTokenCreate(name="cli"),
                    max_active=settings.auth.max_personal_tokens_per_user,
                )


async def test_concurrent_creations_stop_at_the_cap(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, max_personal_tokens_per_user=3)
    async with client_for(settings, endpoints) as (client, resources):
        headers = auth_headers(resources, await create_user(resources, "race@example.com"))
        racing = await asyncio.gather(
            *(client.post(TOKENS, json={"name": f"r{i}"}, headers=headers) for i in range(8))
        )
        assert sorted(response.status_code for response in racing) == [201] * 3 + [409] * 5
        assert len((await client.get(TOKENS, headers=headers)).json()) == 3
