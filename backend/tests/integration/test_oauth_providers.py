"""GitHub and X speak plain OAuth 2.0; their profile APIs are played here by a test double."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from app.auth.login import link_identity
from app.auth.providers import ProviderIdentity, build_providers, identity_from_token
from app.core.config import AuthSettings
from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.conftest import make_settings
from tests.factories import create_user

TOKEN = {"access_token": "provider-token", "token_type": "bearer"}


def _settings(tmp_path: Path) -> AuthSettings:
    return make_settings(
        tmp_path,
        public_url="https://jeex.example",
        auth_x_client_id="x-id",
        auth_x_client_secret="x-secret",
        auth_github_client_id="gh-id",
        auth_github_client_secret="gh-secret",
        auth_google_client_id="g-id",
        auth_google_client_secret="g-secret",
    ).auth


def _answering(routes: dict[str, object]) -> httpx2.MockTransport:
    # Authlib's clients run on httpx2 (see pyproject), so the double speaks its transport API.
    def handle(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["authorization"] == "Bearer provider-token"
        body = routes.get(request.url.path)
        if body is None:
            return httpx2.Response(404)
        return httpx2.Response(200, content=json.dumps(body).encode())

    return httpx2.MockTransport(handle)


async def test_github_identity_uses_the_verified_primary_email(tmp_path: Path) -> None:
    github = build_providers(_settings(tmp_path))["github"]
    github.client.client_kwargs["transport"] = _answering(
        {
            "/user": {"id": 42, "login": "octo", "name": None, "avatar_url": "https://a/o.png"},
            "/user/emails": [
                {"email": "old@example.com", "primary": False, "verified": True},
                {"email": "Octo@Example.com", "primary": True, "verified": True},
            ],
        }
    )
    identity = await identity_from_token(github, TOKEN, nonce=None)
    assert identity == ProviderIdentity(
        provider="github",
        subject="42",
        email="Octo@Example.com",
        email_verified=True,
        name="octo",
        avatar_url="https://a/o.png",
    )


async def test_x_identity_has_no_email(tmp_path: Path) -> None:
    x = build_providers(_settings(tmp_path))["x"]
    x.client.client_kwargs["transport"] = _answering(
        {
            "/2/users/me": {
                "data": {
                    "id": "7",
                    "name": "Jay",
                    "username": "jay",
                    "profile_image_url": "https://p/j.png",
                }
            }
        }
    )
    identity = await identity_from_token(x, TOKEN, nonce=None)
    assert (identity.subject, identity.email, identity.name) == ("7", None, "Jay")


async def test_builtin_providers_redirect_with_pkce_to_their_sites(tmp_path: Path) -> None:
    providers = build_providers(_settings(tmp_path))
    assert list(providers) == ["x", "github", "google"]
    for name, host in (("x", "x.com"), ("github", "github.com")):
        redirect = f"https://jeex.example/api/v1/auth/callback/{name}"
        authorization = await providers[name].client.create_authorization_url(redirect)
        query = parse_qs(urlsplit(authorization["url"]).query)
        assert urlsplit(authorization["url"]).hostname == host
        assert query["code_challenge_method"] == ["S256"]
        assert query["redirect_uri"] == [redirect]
        assert authorization["code_verifier"]


async def test_an_oidc_sign_in_without_its_nonce_fails(tmp_path: Path) -> None:
    google = build_providers(_settings(tmp_path))["google"]
    with pytest.raises(ValueError, match="nonce"):
        await identity_from_token(google, {**TOKEN, "id_token": "x"}, nonce=None)


async def test_an_unverified_email_never_links_to_an_existing_account(
    resources: Resources, clean_state: None
) -> None:
    existing = await create_user(resources, "boss@example.com")
    claim = ProviderIdentity("x", "evil", "boss@example.com", False, "Evil", None)
    verified = ProviderIdentity("github", "99", "BOSS@example.com", True, "Boss", None)
    async with resources.session_factory() as session:
        intruder = await link_identity(session, resources.redis, claim)
        owner = await link_identity(session, resources.redis, verified)
        again = await link_identity(session, resources.redis, verified)
        await session.commit()
    assert intruder != existing
    assert owner == existing
    assert again == existing


async def test_an_unreachable_provider_is_a_clean_login_failure(
    client: object, resources: Resources, tmp_path: Path, endpoints: Endpoints
) -> None:
    from tests.conftest import client_for

    settings = make_settings(
        tmp_path,
        public_url="https://test",
        auth_oidc_providers={
            "down": {
                "discovery_url": "http://127.0.0.1:9/.well-known/openid-configuration",
                "client_id": "c",
                "client_secret": "s",
            }
        },
    )
    async with client_for(settings, endpoints) as (http, _):
        response = await http.get("/api/v1/auth/login/down")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "login_failed"
