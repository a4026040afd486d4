"""The OIDC test provider is a real one, as seen through Authlib's own client.

These tests pin what the sign-in tests rely on: a browser-free login that ends at the client's
redirect URI, ID tokens that verify against the provider's JWKS and carry our nonce and the
user's email, and a provider that refuses every broken code exchange for the right reason.
Each rejection is followed by the correct exchange of the same code, so it is the guard under
test that refused, not an unrelated fault of the code.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidClaimError
from joserfc.jwk import KeySet

from tests.support.oidc_provider import (
    ClientAuthMethod,
    OidcLoginError,
    OidcProvider,
    complete_login,
)

REDIRECT_URI = "http://test/api/v1/auth/callback/testoidc"
# Registered as well, so a token request naming it fails on the code's binding to the URI of
# its authorization request, not merely on an unknown URI.
OTHER_REDIRECT_URI = "http://test/api/v1/auth/callback/other"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider([REDIRECT_URI, OTHER_REDIRECT_URI]) as running:
        yield running


async def fetch_metadata(provider: OidcProvider) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(provider.discovery_url)
        response.raise_for_status()
        metadata: dict[str, Any] = response.json()
        return metadata


@pytest.fixture
async def metadata(provider: OidcProvider) -> dict[str, Any]:
    return await fetch_metadata(provider)


def oauth_client(
    provider: OidcProvider, method: ClientAuthMethod | None = None
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_endpoint_auth_method=method or provider.token_endpoint_auth_method,
        scope=provider.scopes,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )


@pytest.fixture
async def oauth(provider: OidcProvider) -> AsyncIterator[AsyncOAuth2Client]:
    async with oauth_client(provider) as client:
        yield client


@dataclass(frozen=True)
class Authorization:
    callback_url: str
    state: str
    nonce: str
    code_verifier: str

    @property
    def response(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.callback_url).query)
        return {name: values[0] for name, values in query.items()}


async def authorize(
    oauth: AsyncOAuth2Client,
    metadata: dict[str, Any],
    login: str,
    *,
    pkce: bool = True,
    **params: str,
) -> Authorization:
    code_verifier = generate_token(64)
    nonce = generate_token(32)
    url, state = oauth.create_authorization_url(
        metadata["authorization_endpoint"],
        code_verifier=code_verifier if pkce else None,
        nonce=nonce,
        **params,
    )
    # A separate client is the browser: its cookies are the provider's session, never ours.
    async with httpx.AsyncClient() as browser:
        callback_url = await complete_login(browser, url, login)
    return Authorization(callback_url, state, nonce, code_verifier)


async def exchange(
    oauth: AsyncOAuth2Client,
    metadata: dict[str, Any],
    authorization: Authorization,
    **params: str,
) -> dict[str, Any]:
    token: dict[str, Any] = await oauth.fetch_token(
        metadata["token_endpoint"],
        authorization_response=authorization.callback_url,
        state=authorization.state,
        **params,
    )
    return token


async def verified_id_token(
    provider: OidcProvider, metadata: dict[str, Any], token: dict[str, Any], nonce: str
) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(metadata["jwks_uri"])
        response.raise_for_status()
        keys = KeySet.import_key_set(response.json())
    decoded = jwt.decode(
        token["id_token"], keys, algorithms=metadata["id_token_signing_alg_values_supported"]
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"essential": True, "value": provider.issuer}},
        {"nonce": nonce, "client_id": provider.client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    return dict(claims)


async def test_the_user_signs_in_with_pkce_and_gets_a_verified_id_token(
    provider: OidcProvider, oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    assert metadata["issuer"] == provider.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_post"]

    authorization = await authorize(oauth, metadata, "alice")

    assert authorization.callback_url.startswith(f"{REDIRECT_URI}?")
    response = authorization.response
    assert response["state"] == authorization.state
    assert response["iss"] == provider.issuer
    assert response["code"]

    token = await exchange(
        oauth, metadata, authorization, code_verifier=authorization.code_verifier
    )

    assert token["token_type"].lower() == "bearer"
    claims = await verified_id_token(provider, metadata, token, authorization.nonce)
    assert claims["nonce"] == authorization.nonce
    assert claims["sub"] == "alice"
    assert claims["aud"] == provider.client_id
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["name"] == "User alice"
    assert claims["picture"] == "https://example.com/alice.png"

    userinfo = await oauth.get(metadata["userinfo_endpoint"])
    assert userinfo.status_code == 200
    assert userinfo.json() == {
        "sub": "alice",
        "email": "alice@example.com",
        "email_verified": True,
        "name": "User alice",
        "picture": "https://example.com/alice.png",
    }


async def test_an_id_token_with_another_nonce_does_not_verify(
    provider: OidcProvider, oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    authorization = await authorize(oauth, metadata, "mallory")
    token = await exchange(
        oauth, metadata, authorization, code_verifier=authorization.code_verifier
    )

    with pytest.raises(InvalidClaimError, match="nonce"):
        await verified_id_token(provider, metadata, token, generate_token(32))


async def test_a_wrong_code_verifier_is_rejected(
    provider: OidcProvider, oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    authorization = await authorize(oauth, metadata, "bob")
    mark = provider.output_position()

    with pytest.raises(OAuthError) as rejected:
        await exchange(oauth, metadata, authorization, code_verifier=generate_token(64))

    assert rejected.value.error == "invalid_grant"
    assert provider.wait_for_output("invalid_grant (PKCE verification failed)", since=mark)
    token = await exchange(
        oauth, metadata, authorization, code_verifier=authorization.code_verifier
    )
    assert token["id_token"]


async def test_a_missing_code_verifier_is_rejected(
    provider: OidcProvider, oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    authorization = await authorize(oauth, metadata, "carol")
    mark = provider.output_position()

    with pytest.raises(OAuthError) as rejected:
        await exchange(oauth, metadata, authorization)

    assert rejected.value.error == "invalid_grant"
    assert provider.wait_for_output("invalid_grant (PKCE verification failed)", since=mark)
    token = await exchange(
        oauth, metadata, authorization, code_verifier=authorization.code_verifier
    )
    assert token["id_token"]


async def test_another_redirect_uri_than_the_authorization_request_used_is_rejected(
    provider: OidcProvider, oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    authorization = await authorize(oauth, metadata, "dave")
    mark = provider.output_position()

    with pytest.raises(OAuthError) as rejected:
        await exchange(
            oauth,
            metadata,
            authorization,
            code_verifier=authorization.code_verifier,
            redirect_uri=OTHER_REDIRECT_URI,
        )

    assert rejected.value.error == "invalid_grant"
    assert provider.wait_for_output(
        "invalid_grant (authorization code redirect_uri mismatch)", since=mark
    )
    token = await exchange(
        oauth, metadata, authorization, code_verifier=authorization.code_verifier
    )
    assert token["id_token"]


async def test_a_code_is_single_use_and_its_replay_revokes_the_first_tokens(
    provider: OidcProvider, oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    authorization = await authorize(oauth, metadata, "erin")
    token = await exchange(
        oauth, metadata, authorization, code_verifier=authorization.code_verifier
    )
    assert (await oauth.get(metadata["userinfo_endpoint"])).status_code == 200
    mark = provider.output_position()

    with pytest.raises(OAuthError) as rejected:
        await exchange(oauth, metadata, authorization, code_verifier=authorization.code_verifier)

    assert rejected.value.error == "invalid_grant"
    assert provider.wait_for_output(
        "invalid_grant (authorization code already consumed)", since=mark
    )
    async with httpx.AsyncClient() as http:
        userinfo = await http.get(
            metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert userinfo.status_code == 401
    assert 'error="invalid_token"' in userinfo.headers["www-authenticate"]


async def test_an_authorization_request_without_pkce_is_refused(
    oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    authorization = await authorize(oauth, metadata, "frank", pkce=False)

    response = authorization.response
    assert "code" not in response
    assert response["error"] == "invalid_request"
    assert "PKCE" in response["error_description"]
    assert response["state"] == authorization.state


async def test_the_plain_pkce_method_is_refused(
    oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    authorization = await authorize(
        oauth,
        metadata,
        "grace",
        pkce=False,
        code_challenge=generate_token(64),
        code_challenge_method="plain",
    )

    response = authorization.response
    assert "code" not in response
    assert response["error"] == "invalid_request"
    assert "code_challenge_method" in response["error_description"]


async def test_an_unregistered_redirect_uri_stops_at_the_provider(
    oauth: AsyncOAuth2Client, metadata: dict[str, Any]
) -> None:
    with pytest.raises(OidcLoginError, match="redirect_uri"):
        await authorize(oauth, metadata, "heidi", redirect_uri="http://test/elsewhere")


async def test_the_client_can_use_client_secret_basic_instead() -> None:
    with OidcProvider([REDIRECT_URI], token_endpoint_auth_method="client_secret_basic") as basic:
        metadata = await fetch_metadata(basic)
        assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
        async with oauth_client(basic, "client_secret_post") as wrong_method:
            authorization = await authorize(wrong_method, metadata, "ivan")
            with pytest.raises(OAuthError) as rejected:
                await exchange(
                    wrong_method,
                    metadata,
                    authorization,
                    code_verifier=authorization.code_verifier,
                )
            assert rejected.value.error == "invalid_client"
        async with oauth_client(basic) as client:
            token = await exchange(
                client, metadata, authorization, code_verifier=authorization.code_verifier
            )
            claims = await verified_id_token(basic, metadata, token, authorization.nonce)
    assert claims["email"] == "ivan@example.com"
