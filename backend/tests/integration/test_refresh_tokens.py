"""Refresh tokens rotate on every use; a reused one takes its whole family down."""

import asyncio
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import update

from app.auth import service as auth_service
from app.auth.models import RefreshToken
from app.auth.schemas import TokenPair
from app.core.security import hash_token
from app.resources import Resources
from tests.factories import create_user

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


async def _signed_in(resources: Resources, email: str = "ann@example.com") -> TokenPair:
    user_id = await create_user(resources, email)
    async with resources.session_factory() as session:
        pair = await auth_service.start_session(session, resources, user_id)
        await session.commit()
    return pair


async def test_a_refresh_token_rotates_and_the_new_access_token_works(
    client: AsyncClient, resources: Resources
) -> None:
    pair = await _signed_in(resources)
    response = await client.post(REFRESH, json={"refresh_token": pair.refresh_token})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"].startswith("jxr_")
    assert body["refresh_token"] != pair.refresh_token
    assert 0 < body["expires_in"] <= 900
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["email"] == "ann@example.com"


async def test_reusing_a_rotated_token_revokes_the_whole_family(
    client: AsyncClient, resources: Resources
) -> None:
    pair = await _signed_in(resources)
    first = await client.post(REFRESH, json={"refresh_token": pair.refresh_token})
    second_token = first.json()["refresh_token"]

    replay = await client.post(REFRESH, json={"refresh_token": pair.refresh_token})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_token_reused"

    descendant = await client.post(REFRESH, json={"refresh_token": second_token})
    assert descendant.status_code == 401
    assert descendant.json()["error"]["code"] == "invalid_refresh_token"


async def test_other_sessions_of_the_user_survive_a_reuse(
    client: AsyncClient, resources: Resources
) -> None:
    user_id = await create_user(resources, "two@example.com")
    async with resources.session_factory() as session:
        laptop = await auth_service.start_session(session, resources, user_id)
        phone = await auth_service.start_session(session, resources, user_id)
        await session.commit()
    await client.post(REFRESH, json={"refresh_token": laptop.refresh_token})
    await client.post(REFRESH, json={"refresh_token": laptop.refresh_token})
    assert (
        await client.post(REFRESH, json={"refresh_token": phone.refresh_token})
    ).status_code == 200


async def test_concurrent_use_of_one_token_rotates_it_once(
    client: AsyncClient, resources: Resources
) -> None:
    pair = await _signed_in(resources)
    responses = await asyncio.gather(
        *(client.post(REFRESH, json={"refresh_token": pair.refresh_token}) for _ in range(5))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 401, 401, 401, 401]
    winner = next(r for r in responses if r.status_code == 200).json()["refresh_token"]
    # The losers were reuse: the winner's token is revoked with the family.
    assert (await client.post(REFRESH, json={"refresh_token": winner})).status_code == 401


async def test_the_browser_cookie_rotates_without_exposing_the_token(
    client: AsyncClient, resources: Resources
) -> None:
    pair = await _signed_in(resources)
    response = await client.post(REFRESH, headers={"Cookie": f"jeex_refresh={pair.refresh_token}"})
    assert response.status_code == 200
    assert response.json()["refresh_token"] is None
    set_cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/api/v1/auth"):
        assert attribute in set_cookie
    new_token = response.cookies["jeex_refresh"]
    assert new_token.startswith("jxr_")
    assert new_token != pair.refresh_token


async def test_an_expired_or_unknown_refresh_token_is_refused(
    client: AsyncClient, resources: Resources
) -> None:
    pair = await _signed_in(resources)
    async with resources.session_factory() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == hash_token(pair.refresh_token))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    for token in (pair.refresh_token, "jxr_unknown"):
        response = await client.post(REFRESH, json={"refresh_token": token})
        assert response.status_code == 401
    assert (await client.post(REFRESH)).status_code == 401


async def test_logout_revokes_the_session_and_clears_the_cookie(
    client: AsyncClient, resources: Resources
) -> None:
    pair = await _signed_in(resources)
    rotated = (await client.post(REFRESH, json={"refresh_token": pair.refresh_token})).json()
    response = await client.post(LOGOUT, json={"refresh_token": rotated["refresh_token"]})
    assert response.status_code == 204
    assert 'jeex_refresh=""' in response.headers["set-cookie"]
    after = await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    assert (await client.post(LOGOUT)).status_code == 204
