from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Cookie, Depends, Query, Response, status
from fastapi.responses import RedirectResponse

from app.auth import local_sign_in
from app.auth import login as login_flow
from app.auth import service as auth_service
from app.auth.dependencies import CurrentAdmission, CurrentCaller, limit_auth_requests_by_ip
from app.auth.exceptions import InvalidRefreshTokenError, LoginFailedError
from app.auth.resources import AuthResourcesDep
from app.auth.schemas import (
    AccessTokenResponse,
    LocalSignInRead,
    MeRead,
    PersonalTokenCreate,
    PersonalTokenCreated,
    PersonalTokenRead,
    ProviderRead,
    RefreshRequest,
    SignInCodeRequest,
)
from app.core.deps import SessionDep, read_only
from app.core.errors import error_responses

router = APIRouter(prefix="/auth", tags=["auth"])
public_router = APIRouter(
    prefix="/auth", tags=["auth"], dependencies=[Depends(limit_auth_requests_by_ip)]
)

LOGIN_COOKIE = "jeex_login"
REFRESH_COOKIE = "jeex_refresh"
_AUTH_PATH = "/api/v1/auth"


def _set_refresh_cookie(response: Response, token: str, max_age: int) -> None:
    # Strict: the refresh call comes from our own pages only; no other site can make a browser
    # send it.
    response.set_cookie(
        REFRESH_COOKIE,
        token,
        max_age=max_age,
        path=_AUTH_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )


@public_router.get("/providers", response_model=list[ProviderRead])
async def list_providers(resources: AuthResourcesDep) -> list[ProviderRead]:
    """The sign-in providers configured on this server."""
    return [
        ProviderRead(name=provider.name, display_name=provider.display_name, kind=provider.kind)
        for provider in resources.auth_providers.values()
    ]


@public_router.get("/local", response_model=LocalSignInRead)
async def local_sign_in_status(resources: AuthResourcesDep) -> LocalSignInRead:
    """Whether local sign-in with a code from `jeex-idea sign-in-link` is available here."""
    return LocalSignInRead(enabled=resources.settings.auth.local_sign_in)


@public_router.post(
    "/sign-in-code", response_model=AccessTokenResponse, responses=error_responses(401, 404, 422)
)
async def sign_in_with_code(
    data: SignInCodeRequest,
    response: Response,
    resources: AuthResourcesDep,
    session: SessionDep,
) -> AccessTokenResponse:
    """Development only (404 elsewhere): trade a single-use code from a `Sign in:` link for an
    access token, with the refresh token in the same cookie a provider sign-in sets. An unknown,
    used or expired code answers 401 `sign_in_code_invalid`."""
    tokens = await local_sign_in.redeem_sign_in_code(session, resources, data.code)
    _set_refresh_cookie(
        response, tokens.refresh_token, resources.settings.auth.refresh_token_ttl_days * 86400
    )
    return AccessTokenResponse(access_token=tokens.access_token, expires_in=tokens.expires_in)


@public_router.get(
    "/login/{provider}",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
    responses=error_responses(400, 401, 404),
)
async def login(
    provider: str,
    resources: AuthResourcesDep,
    return_to: Annotated[str, Query(max_length=2000)] = "/",
) -> RedirectResponse:
    """Send the browser to the provider; it comes back to /auth/callback/{provider}."""
    redirect = await login_flow.start_login(resources, provider, return_to)
    response = RedirectResponse(redirect.authorization_url, status_code=status.HTTP_302_FOUND)
    # Lax, not Strict: the callback is a top-level navigation coming from the provider's site.
    response.set_cookie(
        LOGIN_COOKIE,
        redirect.browser_secret,
        max_age=resources.settings.auth.login_state_ttl_seconds,
        path=f"{_AUTH_PATH}/callback",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


@public_router.get(
    "/callback/{provider}",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
    responses=error_responses(400, 401, 404),
)
async def callback(
    provider: str,
    resources: AuthResourcesDep,
    session: SessionDep,
    state: Annotated[str, Query(max_length=500)],
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    browser_secret: Annotated[str | None, Cookie(alias=LOGIN_COOKIE)] = None,
) -> RedirectResponse:
    """Finish the sign-in: the browser lands on its return path holding a refresh cookie."""
    if error is not None or code is None:
        raise LoginFailedError("The sign-in was refused or cancelled at the provider.")
    tokens, return_to = await login_flow.finish_login(
        session,
        resources,
        provider_name=provider,
        code=code,
        state=state,
        browser_secret=browser_secret,
    )
    response = RedirectResponse(return_to, status_code=status.HTTP_302_FOUND)
    response.delete_cookie(LOGIN_COOKIE, path=f"{_AUTH_PATH}/callback")
    _set_refresh_cookie(
        response, tokens.refresh_token, resources.settings.auth.refresh_token_ttl_days * 86400
    )
    return response


@public_router.post("/refresh", response_model=AccessTokenResponse, responses=error_responses(401))
async def refresh(
    response: Response,
    resources: AuthResourcesDep,
    session: SessionDep,
    body: RefreshRequest | None = None,
    cookie_token: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> AccessTokenResponse:
    """Exchange a refresh token (body or cookie) for a new access token and refresh token."""
    from_body = body is not None and body.refresh_token is not None
    presented = body.refresh_token if body is not None and from_body else cookie_token
    if presented is None:
        raise InvalidRefreshTokenError
    tokens = await auth_service.rotate_refresh_token(session, resources, presented)
    if from_body:
        return AccessTokenResponse(
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
        )
    _set_refresh_cookie(
        response, tokens.refresh_token, resources.settings.auth.refresh_token_ttl_days * 86400
    )
    return AccessTokenResponse(access_token=tokens.access_token, expires_in=tokens.expires_in)


@public_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(
    session: SessionDep,
    body: RefreshRequest | None = None,
    cookie_token: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> Response:
    """Revoke the session the refresh token belongs to, and clear the cookie."""
    presented = body.refresh_token if body is not None and body.refresh_token else cookie_token
    if presented is not None:
        await auth_service.end_session(session, presented)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(REFRESH_COOKIE, path=_AUTH_PATH)
    return response


@router.get("/me", response_model=MeRead, responses=error_responses(401))
@read_only
async def me(
    admission: CurrentAdmission, session: SessionDep, resources: AuthResourcesDep
) -> MeRead:
    return await auth_service.describe_caller(session, resources, admission)


@router.post(
    "/tokens",
    response_model=PersonalTokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 409, 422),
)
async def create_token(
    data: PersonalTokenCreate,
    caller: CurrentCaller,
    session: SessionDep,
    resources: AuthResourcesDep,
) -> PersonalTokenCreated:
    """A personal access token for the CLI and scripts; the token is shown only here.

    Needs a signed-in session (403 `personal_token_not_allowed` with a personal access token),
    and a user holds at most JEEX_MAX_PERSONAL_TOKENS_PER_USER active tokens (409
    `token_limit_reached`)."""
    return await auth_service.create_token_for_caller(
        session, caller, data, max_active=resources.settings.auth.max_personal_tokens_per_user
    )


@router.get("/tokens", response_model=list[PersonalTokenRead], responses=error_responses(401))
@read_only
async def list_tokens(caller: CurrentCaller, session: SessionDep) -> list[PersonalTokenRead]:
    return await auth_service.list_personal_tokens(session, caller.user_id)


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 404),
)
async def revoke_token(
    token_id: UUID, caller: CurrentCaller, session: SessionDep, resources: AuthResourcesDep
) -> Response:
    await auth_service.revoke_personal_token(session, resources, caller.user_id, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
