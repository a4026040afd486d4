"""How the terminal client proves who it is: a personal access token, or a local sign-in.

A personal access token (``JEEX_TOKEN``) is sent as it is. A local sign-in (development only)
redeems a code the CLI mints itself, then keeps the session alive with the refresh token:
access tokens last minutes, refresh tokens rotate on every use, and presenting a used one
revokes the whole sign-in, so renewals are serialised and a renewal that lost the race reuses
the winner's token instead of refreshing again.
"""

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import suppress
from http.cookies import SimpleCookie
from typing import Protocol

import httpx

from app.cli.chat.errors import ApiError, ServerUnreachableError, api_error

REFRESH_COOKIE = "jeex_refresh"
# Renew this long before the access token expires, so no request carries a token about to die.
_RENEW_MARGIN_SECONDS = 60.0


class Credentials(Protocol):
    async def bearer(self) -> str:
        """The token for the next request."""
        ...

    async def renew(self, refused: str) -> str | None:
        """A new token after ``refused`` was answered 401, or None when none can be had."""
        ...

    async def close(self) -> None:
        """End the session, where there is one to end."""
        ...


class PersonalToken:
    """``JEEX_TOKEN``: long-lived, revocable, never renewed by the client."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "PersonalToken(***)"

    async def bearer(self) -> str:
        return self._token

    async def renew(self, refused: str) -> str | None:
        return None

    async def close(self) -> None:
        return None


class LocalSession:
    """A development sign-in: a minted code traded for an access and a refresh token."""

    def __init__(self, public: httpx.AsyncClient, mint_code: Callable[[], Awaitable[str]]) -> None:
        # ``public`` carries no Authorization: the auth routes take the code or refresh token.
        self._public = public
        self._mint_code = mint_code
        self._access = ""
        self._refresh = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "LocalSession(***)"

    async def sign_in(self) -> None:
        code = await self._mint_code()
        response = await self._post("/api/v1/auth/sign-in-code", {"code": code})
        if response.status_code != httpx.codes.OK:
            raise api_error(response, "local sign-in")
        refresh = _refresh_cookie(response)
        if refresh is None:
            raise ApiError(response.status_code, "sign_in_failed", "no refresh token came back")
        self._accept(response, refresh)

    async def bearer(self) -> str:
        async with self._lock:
            if time.monotonic() > self._expires_at - _RENEW_MARGIN_SECONDS:
                await self._renew_locked()
            return self._access

    async def renew(self, refused: str) -> str | None:
        async with self._lock:
            if self._access == refused:
                await self._renew_locked()
            return self._access

    async def close(self) -> None:
        """Revoke the refresh token: the session ends with the chat."""
        if self._refresh:
            # Best effort by design: the server may already be gone when the user quits, and
            # an unrevoked refresh token expires on its own.
            with suppress(httpx.HTTPError):
                await self._public.post(
                    "/api/v1/auth/logout", json={"refresh_token": self._refresh}
                )
            self._refresh = ""

    async def _renew_locked(self) -> None:
        response = await self._post("/api/v1/auth/refresh", {"refresh_token": self._refresh})
        if response.status_code == httpx.codes.UNAUTHORIZED:
            # The session was revoked or has expired: a new code starts a new one.
            await self.sign_in()
            return
        if response.status_code != httpx.codes.OK:
            raise api_error(response, "renewing the session")
        refresh = response.json().get("refresh_token")
        if not isinstance(refresh, str):
            raise ApiError(response.status_code, "refresh_failed", "no refresh token came back")
        self._accept(response, refresh)

    async def _post(self, path: str, body: dict[str, str]) -> httpx.Response:
        try:
            return await self._public.post(path, json=body)
        except httpx.TransportError as error:
            raise ServerUnreachableError(str(self._public.base_url).rstrip("/"), error) from None

    def _accept(self, response: httpx.Response, refresh: str) -> None:
        body = response.json()
        self._access = str(body["access_token"])
        self._expires_at = time.monotonic() + float(body["expires_in"])
        self._refresh = refresh


def _refresh_cookie(response: httpx.Response) -> str | None:
    # Read from the header, not the cookie jar: the cookie is Secure, and a jar keeps it from
    # a plain-HTTP local server.
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if REFRESH_COOKIE in cookie:
            return cookie[REFRESH_COOKIE].value
    return None


class BearerAuth(httpx.Auth):
    """Adds the bearer token; after a 401, renews it once and sends the request again."""

    requires_request_body = True

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._credentials.bearer()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        renewed = await self._credentials.renew(token)
        if renewed is None or renewed == token:
            return
        # httpx reads and closes the refused response itself before sending this again.
        request.headers["Authorization"] = f"Bearer {renewed}"
        yield request
