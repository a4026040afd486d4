"""Local sign-in (development only): single-use codes for the local owner or an existing user."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from httpx import AsyncClient, Response
from sqlalchemy import func, select

from app.auth import local_sign_in
from app.auth.exceptions import LocalSignInDisabledError
from app.auth.models import SignInCode
from app.core.config import Settings
from app.core.infrastructure import Endpoints
from app.core.security import hash_token
from app.resources import Resources
from app.users.models import User
from tests.conftest import client_for, make_settings
from tests.factories import create_user

SIGN_IN = "/api/v1/auth/sign-in-code"
REFRESH = "/api/v1/auth/refresh"


async def _mint(resources: Resources, settings: Settings, email: str | None = None) -> str:
    async with resources.session_factory() as session:
        if email is None:
            user_id = await local_sign_in.ensure_local_owner(session)
        else:
            user = (await session.execute(select(User).where(User.email == email))).scalar_one()
            user_id = user.id
        code = await local_sign_in.mint_sign_in_code(session, settings.auth, user_id)
        await session.commit()
    return code


def _refresh_cookie(response: Response) -> str:
    headers = [
        value for value in response.headers.get_list("set-cookie") if "jeex_refresh=" in value
    ]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


async def test_a_code_signs_the_local_owner_in_with_the_refresh_cookie(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    code = await _mint(resources, settings)
    response = await client.post(SIGN_IN, json={"code": code})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] is None  # the browser gets it only as the httpOnly cookie
    assert 0 < body["expires_in"] <= 900
    cookie = _refresh_cookie(response)
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/api/v1/auth"} <= attributes
    assert f"max-age={settings.auth.refresh_token_ttl_days * 86400}" in attributes
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["email"] == local_sign_in.LOCAL_OWNER_EMAIL
    assert me.json()["name"] == local_sign_in.LOCAL_OWNER_NAME


async def test_the_cookie_from_a_code_then_refreshes(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    code = await _mint(resources, settings)
    assert (await client.post(SIGN_IN, json={"code": code})).status_code == 200
    # The client's cookie jar holds the Secure cookie (https base URL) and sends it back.
    refreshed = await client.post(REFRESH)
    assert refreshed.status_code == 200, refreshed.text
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    )
    assert me.json()["email"] == local_sign_in.LOCAL_OWNER_EMAIL


async def test_a_code_signs_in_once(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    code = await _mint(resources, settings)
    assert (await client.post(SIGN_IN, json={"code": code})).status_code == 200
    again = await client.post(SIGN_IN, json={"code": code})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "sign_in_code_invalid"
    assert code not in again.text


async def test_two_requests_with_one_code_sign_in_once(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    code = await _mint(resources, settings)
    responses = await asyncio.gather(*(client.post(SIGN_IN, json={"code": code}) for _ in range(4)))
    assert sorted(response.status_code for response in responses) == [200, 401, 401, 401]


async def test_an_unknown_code_is_refused(client: AsyncClient) -> None:
    response = await client.post(SIGN_IN, json={"code": "not-a-code"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "sign_in_code_invalid"


async def test_only_the_hash_of_a_code_is_stored(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    code = await _mint(resources, settings)
    assert len(code) >= 43  # 32 random bytes, URL-safe base64
    async with resources.session_factory() as session:
        stored = list((await session.execute(select(SignInCode.code_hash))).scalars())
    assert stored == [hash_token(code)]


async def test_the_local_owner_is_created_once(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    await asyncio.gather(*(_mint(resources, settings) for _ in range(3)))
    async with resources.session_factory() as session:
        owners = await session.scalar(
            select(func.count()).select_from(User).where(User.email == "owner@localhost")
        )
    assert owners == 1


async def test_a_code_for_another_user_signs_that_user_in(
    client: AsyncClient, resources: Resources, settings: Settings
) -> None:
    await create_user(resources, "second@example.com", "Second")
    code = await _mint(resources, settings, email="second@example.com")
    token = (await client.post(SIGN_IN, json={"code": code})).json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "second@example.com"


async def test_local_sign_in_is_announced_in_development(client: AsyncClient) -> None:
    response = await client.get("/api/v1/auth/local")
    assert response.status_code == 200
    assert response.json() == {"enabled": True}


@pytest.fixture
async def short_lived(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> AsyncIterator[tuple[AsyncClient, Resources, Settings]]:
    settings = make_settings(tmp_path, sign_in_code_ttl_seconds=1)
    async with client_for(settings, endpoints) as (http, resources):
        yield http, resources, settings


async def test_a_code_expires(short_lived: tuple[AsyncClient, Resources, Settings]) -> None:
    http, resources, settings = short_lived
    code = await _mint(resources, settings)
    await asyncio.sleep(1.2)
    response = await http.post(SIGN_IN, json={"code": code})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "sign_in_code_invalid"


def _private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
async def production(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> AsyncIterator[tuple[AsyncClient, Resources, Settings]]:
    settings = make_settings(tmp_path, environment="production", jwt_private_key=_private_key_pem())
    async with client_for(settings, endpoints) as (http, resources):
        yield http, resources, settings


async def test_production_has_no_local_sign_in(
    production: tuple[AsyncClient, Resources, Settings], settings: Settings
) -> None:
    http, resources, production_settings = production
    # A code minted where local sign-in exists is still refused by a production server.
    code = await _mint(resources, settings)
    response = await http.post(SIGN_IN, json={"code": code})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (await http.get("/api/v1/auth/local")).json() == {"enabled": False}
    async with resources.session_factory() as session:
        owner = await local_sign_in.ensure_local_owner(session)
        with pytest.raises(LocalSignInDisabledError):
            await local_sign_in.mint_sign_in_code(session, production_settings.auth, owner)


async def test_guessing_codes_is_rate_limited_per_address(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, rate_limit_auth_per_window=3, rate_limit_window_seconds=60)
    async with client_for(settings, endpoints) as (http, _):
        statuses = [
            (await http.post(SIGN_IN, json={"code": f"guess-{n}"})).status_code for n in range(4)
        ]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.parametrize(
    ("host", "link"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/sign-in?code=abc"),
        ("0.0.0.0", "http://localhost:8000/sign-in?code=abc"),
        ("::", "http://localhost:8000/sign-in?code=abc"),
        ("::1", "http://[::1]:8000/sign-in?code=abc"),
    ],
)
def test_the_link_names_a_host_a_browser_can_open(host: str, link: str) -> None:
    assert local_sign_in.sign_in_url(host, 8000, "abc") == link
