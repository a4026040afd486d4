"""Sign-in end to end against a real OpenID Connect provider (npm ``oidc-provider``).

Browser side: our login redirect → the provider's login and consent pages → our callback →
a refresh cookie → /auth/refresh → /auth/me. Then every way the flow can be tampered with.
"""

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.conftest import client_for, make_settings
from tests.support.oidc_provider import OidcProvider, complete_login, ensure_installed

CALLBACK = "https://test/api/v1/auth/callback/testoidc"
ELSEWHERE = "https://test/elsewhere/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    ensure_installed()
    with OidcProvider([CALLBACK, ELSEWHERE]) as running:
        yield running


@pytest.fixture
async def app_client(
    provider: OidcProvider, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> AsyncIterator[tuple[AsyncClient, Resources]]:
    settings = make_settings(
        tmp_path,
        public_url="https://test",
        auth_oidc_providers={
            "testoidc": {
                "discovery_url": provider.discovery_url,
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "display_name": "Test SSO",
                "token_endpoint_auth_method": "client_secret_post",
            }
        },
    )
    async with client_for(settings, endpoints) as pair:
        yield pair


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _begin(client: AsyncClient, return_to: str = "/projects") -> tuple[str, str]:
    """Start a sign-in: the provider URL the browser goes to, and the browser's login cookie."""
    response = await client.get("/api/v1/auth/login/testoidc", params={"return_to": return_to})
    assert response.status_code == 302, response.text
    return response.headers["location"], _cookie(response, "jeex_login")


async def _at_provider(authorize_url: str, login: str = "alice") -> str:
    async with httpx.AsyncClient() as browser:
        return await complete_login(browser, authorize_url, login)


async def _callback(
    client: AsyncClient, callback_url: str, login_cookie: str | None
) -> httpx.Response:
    headers = {"Cookie": f"jeex_login={login_cookie}"} if login_cookie else {}
    return await client.get(_path_and_query(callback_url), headers=headers)


async def test_a_user_signs_in_and_reaches_their_profile(
    app_client: tuple[AsyncClient, Resources], provider: OidcProvider
) -> None:
    client, _ = app_client
    providers = (await client.get("/api/v1/auth/providers")).json()
    assert providers == [{"name": "testoidc", "display_name": "Test SSO", "kind": "oidc"}]

    authorize_url, login_cookie = await _begin(client)
    sent = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(provider.issuer)
    assert sent["redirect_uri"] == [CALLBACK]
    assert sent["code_challenge_method"] == ["S256"]
    assert len(sent["code_challenge"][0]) == 43
    assert sent["nonce"]
    assert sent["state"]

    callback_url = await _at_provider(authorize_url)
    landed = await _callback(client, callback_url, login_cookie)
    assert landed.status_code == 302, landed.text
    assert landed.headers["location"] == "/projects"
    refresh_cookie = _cookie(landed, "jeex_refresh")

    tokens = await client.post(
        "/api/v1/auth/refresh", headers={"Cookie": f"jeex_refresh={refresh_cookie}"}
    )
    assert tokens.status_code == 200, tokens.text
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    body = me.json()
    assert body["email"] == "alice@example.com"
    assert body["name"] == "User alice"
    assert body["identities"] == [
        {
            "provider": "testoidc",
            "email": "alice@example.com",
            "name": "User alice",
            "avatar_url": "https://example.com/alice.png",
        }
    ]

    # Signing in again is the same person, not a second account.
    again_url, again_cookie = await _begin(client)
    again = await _callback(client, await _at_provider(again_url), again_cookie)
    again_tokens = await client.post(
        "/api/v1/auth/refresh", headers={"Cookie": f"jeex_refresh={_cookie(again, 'jeex_refresh')}"}
    )
    again_me = await client.get(
        "/api/v1/auth/me",
        headers={"Authorization": f"Bearer {again_tokens.json()['access_token']}"},
    )
    assert again_me.json()["id"] == body["id"]


async def test_a_wrong_state_is_rejected(app_client: tuple[AsyncClient, Resources]) -> None:
    client, _ = app_client
    authorize_url, login_cookie = await _begin(client)
    callback_url = _with_query(await _at_provider(authorize_url), state="forged-state")
    response = await _callback(client, callback_url, login_cookie)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_login_state"


async def test_a_sign_in_finished_in_another_browser_is_rejected_and_spent(
    app_client: tuple[AsyncClient, Resources],
) -> None:
    client, _ = app_client
    authorize_url, login_cookie = await _begin(client)
    callback_url = await _at_provider(authorize_url)
    assert (await _callback(client, callback_url, "another-browser")).status_code == 400
    # The attempt consumed the state: the real browser cannot finish it either.
    assert (await _callback(client, callback_url, login_cookie)).status_code == 400


async def test_a_replayed_callback_is_rejected(app_client: tuple[AsyncClient, Resources]) -> None:
    client, _ = app_client
    authorize_url, login_cookie = await _begin(client)
    callback_url = await _at_provider(authorize_url)
    assert (await _callback(client, callback_url, login_cookie)).status_code == 302
    replay = await _callback(client, callback_url, login_cookie)
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "invalid_login_state"


async def test_a_replayed_code_under_a_fresh_state_is_rejected_by_the_provider(
    app_client: tuple[AsyncClient, Resources], provider: OidcProvider
) -> None:
    client, _ = app_client
    first_url, first_cookie = await _begin(client)
    used_callback = await _at_provider(first_url)
    assert (await _callback(client, used_callback, first_cookie)).status_code == 302

    _, fresh_cookie = await _begin(client)
    fresh_state = await _latest_state(client)
    mark = provider.output_position()
    replay = _with_query(used_callback, state=fresh_state)
    response = await _callback(client, replay, fresh_cookie)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "login_failed"
    assert provider.wait_for_output("invalid_grant", since=mark)


async def _latest_state(client: AsyncClient) -> str:
    resources: Resources = client._transport.app.state.resources  # type: ignore[attr-defined]
    keys: list[bytes] = [key async for key in resources.redis.scan_iter(match="auth:login:*")]
    assert len(keys) == 1
    return keys[0].decode().removeprefix("auth:login:")


async def _tamper_state(resources: Resources, **changes: str) -> None:
    keys: list[bytes] = [key async for key in resources.redis.scan_iter(match="auth:login:*")]
    assert len(keys) == 1
    record = json.loads(await resources.redis.get(keys[0]))
    record.update(changes)
    await resources.redis.set(keys[0], json.dumps(record), keepttl=True)


@pytest.mark.parametrize(
    ("verifier", "reason"),
    [("x" * 64, "PKCE verification failed"), ("", "PKCE verification failed")],
    ids=["wrong", "missing"],
)
async def test_a_wrong_or_missing_pkce_verifier_is_rejected(
    app_client: tuple[AsyncClient, Resources], provider: OidcProvider, verifier: str, reason: str
) -> None:
    client, resources = app_client
    authorize_url, login_cookie = await _begin(client)
    callback_url = await _at_provider(authorize_url)
    await _tamper_state(resources, code_verifier=verifier)
    mark = provider.output_position()
    response = await _callback(client, callback_url, login_cookie)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "login_failed"
    assert provider.wait_for_output(reason, since=mark), provider.output


async def test_a_changed_redirect_uri_is_rejected(
    app_client: tuple[AsyncClient, Resources], provider: OidcProvider
) -> None:
    client, _ = app_client
    authorize_url, login_cookie = await _begin(client)
    # An attacker swaps the redirect URI for another one registered to the client.
    diverted = await _at_provider(_with_query(authorize_url, redirect_uri=ELSEWHERE))
    assert diverted.startswith(ELSEWHERE)
    code_and_state = urlsplit(diverted).query
    mark = provider.output_position()
    response = await _callback(client, f"{CALLBACK}?{code_and_state}", login_cookie)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "login_failed"
    assert provider.wait_for_output("invalid_grant", since=mark)


async def test_a_refusal_at_the_provider_is_reported(
    app_client: tuple[AsyncClient, Resources],
) -> None:
    client, _ = app_client
    response = await client.get(
        "/api/v1/auth/callback/testoidc", params={"error": "access_denied", "state": "s"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "login_failed"


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "relative",
    ],
)
async def test_the_return_path_cannot_leave_the_site(
    app_client: tuple[AsyncClient, Resources], return_to: str
) -> None:
    client, _ = app_client
    response = await client.get("/api/v1/auth/login/testoidc", params={"return_to": return_to})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_return_path"


async def test_an_unknown_provider_is_not_found(app_client: tuple[AsyncClient, Resources]) -> None:
    client, _ = app_client
    response = await client.get("/api/v1/auth/login/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "provider_not_found"
