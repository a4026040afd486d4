"""Sign-in through a provider: authorization code with PKCE S256, state and nonce.

The state lives in Redis, not in the browser: it is single-use (GETDEL), expires, and is bound to
the browser that began the sign-in through a cookie whose hash it stores.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import httpx2
from authlib.common.errors import AuthlibBaseError
from joserfc.errors import JoseError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as auth_repository
from app.auth import service as auth_service
from app.auth.exceptions import (
    InvalidLoginStateError,
    InvalidReturnPathError,
    LoginFailedError,
    ProviderNotFoundError,
)
from app.auth.models import UserIdentity
from app.auth.principals import credentials_stamp
from app.auth.providers import Provider, ProviderIdentity, identity_from_token
from app.auth.resources import AuthResources
from app.auth.schemas import LoginState, TokenPair
from app.core.stamped import renew_with_commit
from app.users import repository as user_repository
from app.users.service import normalise_email

CALLBACK_PATH = "/api/v1/auth/callback/{provider}"
_STATE_KEY = "auth:login:{state}"


@dataclass(frozen=True, slots=True)
class LoginRedirect:
    authorization_url: str
    browser_secret: str


def get_provider(resources: AuthResources, name: str) -> Provider:
    provider = resources.auth_providers.get(name)
    if provider is None:
        raise ProviderNotFoundError(f"No sign-in provider named {name!r} is configured.")
    return provider


def safe_return_path(return_to: str) -> str:
    """Only a path on our own origin: never a scheme, a host, or a protocol-relative //host."""
    parts = urlsplit(return_to)
    if (
        not return_to.startswith("/")
        or return_to.startswith("//")
        or "\\" in return_to
        or parts.scheme
        or parts.netloc
        or any(ord(char) < 0x20 for char in return_to)
    ):
        raise InvalidReturnPathError("return_to must be a path on this site, like /projects.")
    return return_to


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def start_login(
    resources: AuthResources, provider_name: str, return_to: str
) -> LoginRedirect:
    provider = get_provider(resources, provider_name)
    return_path = safe_return_path(return_to)
    public_url = resources.settings.auth.public_url
    if public_url is None:  # settings validation makes this unreachable with providers set
        raise LoginFailedError("JEEX_PUBLIC_URL is not configured.")
    redirect_uri = str(public_url).rstrip("/") + CALLBACK_PATH.format(provider=provider.name)
    try:
        authorization = await provider.client.create_authorization_url(redirect_uri)
    except (httpx.HTTPError, httpx2.HTTPError, AuthlibBaseError) as error:
        raise LoginFailedError("The sign-in provider could not be reached.") from error
    browser_secret = secrets.token_urlsafe(32)
    state = LoginState(
        provider=provider.name,
        redirect_uri=redirect_uri,
        code_verifier=authorization["code_verifier"],
        nonce=authorization.get("nonce"),
        return_to=return_path,
        browser_hash=_hash(browser_secret),
    )
    await resources.redis.set(
        _STATE_KEY.format(state=authorization["state"]),
        state.model_dump_json(),
        ex=resources.settings.auth.login_state_ttl_seconds,
    )
    return LoginRedirect(authorization["url"], browser_secret)


async def _take_state(
    resources: AuthResources, provider_name: str, state: str, browser_secret: str | None
) -> LoginState:
    raw = await resources.redis.getdel(_STATE_KEY.format(state=state))
    if raw is None or browser_secret is None:
        raise InvalidLoginStateError
    login = LoginState.model_validate_json(raw)
    if login.provider != provider_name or not hmac.compare_digest(
        login.browser_hash, _hash(browser_secret)
    ):
        raise InvalidLoginStateError
    return login


async def finish_login(
    session: AsyncSession,
    resources: AuthResources,
    *,
    provider_name: str,
    code: str,
    state: str,
    browser_secret: str | None,
) -> tuple[TokenPair, str]:
    """Exchange the code, learn who signed in, and open a session; returns where to go next."""
    provider = get_provider(resources, provider_name)
    login = await _take_state(resources, provider_name, state, browser_secret)
    try:
        token = await provider.client.fetch_access_token(
            redirect_uri=login.redirect_uri, code=code, code_verifier=login.code_verifier
        )
        identity = await identity_from_token(provider, token, login.nonce)
    except (
        httpx.HTTPError,
        httpx2.HTTPError,
        AuthlibBaseError,
        JoseError,
        KeyError,
        ValueError,
    ) as error:
        # The provider's own words may carry request details; the client gets ours.
        raise LoginFailedError("The sign-in provider did not confirm this sign-in.") from error
    user_id = await link_identity(session, resources.redis, identity)
    return await auth_service.start_session(session, resources, user_id), login.return_to


async def link_identity(session: AsyncSession, redis: Redis, identity: ProviderIdentity) -> UUID:
    """The user behind a provider account, created or linked on first sign-in.

    An existing user is linked by email only when the provider vouches the address is verified;
    otherwise anyone could claim an account by registering its email elsewhere. Either way the
    user's profile may have changed: every replica's memory of it goes (see
    :mod:`app.auth.principals`).
    """
    user_id = await _identity_owner(session, identity)
    await renew_with_commit(session, redis, credentials_stamp(user_id))
    return user_id


async def _identity_owner(session: AsyncSession, identity: ProviderIdentity) -> UUID:
    known = await auth_repository.get_identity(session, identity.provider, identity.subject)
    if known is not None:
        known.email, known.name, known.avatar_url = (
            identity.email,
            identity.name,
            identity.avatar_url,
        )
        return known.user_id
    verified_email = (
        normalise_email(identity.email) if identity.email and identity.email_verified else None
    )
    user = await user_repository.get_by_email(session, verified_email) if verified_email else None
    if user is None:
        user = await user_repository.add_profile(
            session, email=verified_email, name=identity.name, avatar_url=identity.avatar_url
        )
    await auth_repository.add_identity(
        session,
        UserIdentity(
            user_id=user.id,
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email,
            name=identity.name,
            avatar_url=identity.avatar_url,
        ),
    )
    return user.id
