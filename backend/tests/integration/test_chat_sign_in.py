"""`jeex-idea chat`'s local sign-in against the real auth routes: it refreshes before the access
token expires, renews once after a 401, never races two refreshes (reusing a rotated refresh
token would revoke the sign-in), and signs in anew once the session is gone."""

import asyncio
import time

import httpx
from httpx import AsyncClient

from app.auth import local_sign_in
from app.cli.chat.auth import BearerAuth, LocalSession
from app.core.config import Settings
from app.resources import Resources

ME = "/api/v1/auth/me"


class Minter:
    """Mints real codes in the test database, and counts them."""

    def __init__(self, resources: Resources, settings: Settings) -> None:
        self.resources = resources
        self.settings = settings
        self.minted = 0

    async def __call__(self) -> str:
        async with self.resources.session_factory() as session:
            owner = await local_sign_in.ensure_local_owner(session)
            code = await local_sign_in.mint_sign_in_code(session, self.settings.auth, owner)
            await session.commit()
        self.minted += 1
        return code


async def _me(client: AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})


async def test_a_token_about_to_expire_is_refreshed_before_use(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    minter = Minter(resources, settings)
    session = LocalSession(client, minter)
    await session.sign_in()
    first = await session.bearer()
    assert (await _me(client, first)).json()["email"] == local_sign_in.LOCAL_OWNER_EMAIL

    session._expires_at = time.monotonic() + 30  # inside the renewal margin
    second = await session.bearer()
    assert second != first
    assert (await _me(client, second)).status_code == 200
    assert minter.minted == 1  # refreshed, not signed in again
    assert "***" in repr(session)
    assert second not in repr(session)


async def test_two_renewals_after_one_401_refresh_once(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    session = LocalSession(client, Minter(resources, settings))
    await session.sign_in()
    refused = await session.bearer()
    renewed = await asyncio.gather(session.renew(refused), session.renew(refused))
    assert renewed[0] == renewed[1] != refused
    assert renewed[0] is not None
    # Had the second renewal presented the rotated refresh token, the sign-in would be revoked.
    assert (await _me(client, renewed[0])).status_code == 200
    assert await session.bearer() == renewed[0]


async def test_a_401_is_renewed_and_the_request_sent_again(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    session = LocalSession(client, Minter(resources, settings))
    await session.sign_in()
    session._access = "not-a-token"  # what an access token the server no longer takes looks like
    response = await client.get(ME, auth=BearerAuth(session))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == local_sign_in.LOCAL_OWNER_EMAIL


async def test_an_ended_session_signs_in_again_with_a_new_code(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    minter = Minter(resources, settings)
    session = LocalSession(client, minter)
    await session.sign_in()
    stale = await session.bearer()
    refresh = session._refresh
    await session.close()  # revokes the refresh token, as /quit does
    revoked = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert revoked.status_code == 401

    session._refresh = refresh
    renewed = await session.renew(stale)
    assert renewed is not None
    assert renewed != stale
    assert minter.minted == 2
    assert (await _me(client, renewed)).status_code == 200
