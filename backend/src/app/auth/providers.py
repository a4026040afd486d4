"""Sign-in providers configured by environment, each an Authlib client with PKCE S256.

OpenID Connect providers (Google, any issuer by discovery URL) prove who signed in with a
validated ID token. X and GitHub speak plain OAuth 2.0: their profile APIs say who it was.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App

from app.core.config import AuthSettings


class ProviderKind(StrEnum):
    OIDC = "oidc"
    GITHUB = "github"
    X = "x"


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    avatar_url: str | None


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    display_name: str
    kind: ProviderKind
    client: StarletteOAuth2App


_HTTP_TIMEOUT = {"timeout": 10.0}


@dataclass(frozen=True, slots=True)
class _BuiltIn:
    """What Authlib needs to know of a built-in provider besides its credentials."""

    display_name: str
    kind: ProviderKind
    endpoints: dict[str, str]
    client_kwargs: dict[str, str]


# The built-in providers, by the name in their variables (JEEX_AUTH_<NAME>_CLIENT_ID/_SECRET).
_BUILT_INS: dict[str, _BuiltIn] = {
    "x": _BuiltIn(
        "X",
        ProviderKind.X,
        {
            "authorize_url": "https://x.com/i/oauth2/authorize",
            "access_token_url": "https://api.x.com/2/oauth2/token",
            "api_base_url": "https://api.x.com/2/",
        },
        {"scope": "users.read tweet.read", "token_endpoint_auth_method": "client_secret_basic"},
    ),
    "github": _BuiltIn(
        "GitHub",
        ProviderKind.GITHUB,
        {
            "authorize_url": "https://github.com/login/oauth/authorize",
            "access_token_url": "https://github.com/login/oauth/access_token",
            "api_base_url": "https://api.github.com/",
        },
        {"scope": "read:user user:email"},
    ),
    "google": _BuiltIn(
        "Google",
        ProviderKind.OIDC,
        {"server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"},
        {"scope": "openid email profile"},
    ),
}


def build_providers(settings: AuthSettings) -> dict[str, Provider]:
    oauth = OAuth()
    providers: list[Provider] = []
    for name, credentials in settings.providers.items():
        built_in = _BUILT_INS[name]
        client = oauth.register(
            name,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret.get_secret_value(),
            **built_in.endpoints,
            client_kwargs={
                **built_in.client_kwargs,
                "code_challenge_method": "S256",
                **_HTTP_TIMEOUT,
            },
        )
        providers.append(Provider(name, built_in.display_name, built_in.kind, client))
    for name, config in settings.oidc_providers.items():
        client = oauth.register(
            name,
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            server_metadata_url=str(config.discovery_url),
            client_kwargs={
                "scope": config.scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": config.token_endpoint_auth_method,
                **_HTTP_TIMEOUT,
            },
        )
        providers.append(Provider(name, config.display_name or name, ProviderKind.OIDC, client))
    return {provider.name: provider for provider in providers}


async def identity_from_token(
    provider: Provider, token: dict[str, Any], nonce: str | None
) -> ProviderIdentity:
    """Who signed in, from the provider's own word: a validated ID token or its profile API."""
    if provider.kind is ProviderKind.OIDC:
        if nonce is None:
            raise ValueError("an OpenID Connect sign-in needs its nonce")
        claims = await provider.client.parse_id_token(token, nonce=nonce)
        if claims is None:
            raise ValueError("the provider returned no ID token")
        return ProviderIdentity(
            provider=provider.name,
            subject=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=bool(claims.get("email_verified")),
            name=claims.get("name"),
            avatar_url=claims.get("picture"),
        )
    if provider.kind is ProviderKind.GITHUB:
        return await _github_identity(provider, token)
    return await _x_identity(provider, token)


async def _github_identity(provider: Provider, token: dict[str, Any]) -> ProviderIdentity:
    profile_response = await provider.client.get("user", token=token)
    profile_response.raise_for_status()
    profile = profile_response.json()
    emails_response = await provider.client.get("user/emails", token=token)
    emails_response.raise_for_status()
    primary = next(
        (item for item in emails_response.json() if item.get("primary") and item.get("verified")),
        None,
    )
    return ProviderIdentity(
        provider=provider.name,
        subject=str(profile["id"]),
        email=primary["email"] if primary else None,
        email_verified=primary is not None,
        name=profile.get("name") or profile.get("login"),
        avatar_url=profile.get("avatar_url"),
    )


async def _x_identity(provider: Provider, token: dict[str, Any]) -> ProviderIdentity:
    response = await provider.client.get(
        "users/me", token=token, params={"user.fields": "profile_image_url"}
    )
    response.raise_for_status()
    data = response.json()["data"]
    # X shares no email address through this API.
    return ProviderIdentity(
        provider=provider.name,
        subject=str(data["id"]),
        email=None,
        email_verified=False,
        name=data.get("name") or data.get("username"),
        avatar_url=data.get("profile_image_url"),
    )
