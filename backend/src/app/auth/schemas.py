from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.core.text import UserText
from app.users.schemas import UserRead


class ProviderRead(BaseModel):
    name: str = Field(description="Use in /auth/login/{name}.")
    display_name: str
    kind: Literal["oidc", "github", "x"]


class LoginState(BaseModel):
    """What the callback needs from the login request; kept in Redis, never sent to a browser."""

    provider: str
    redirect_uri: str
    code_verifier: str
    nonce: str | None
    return_to: str
    browser_hash: str


class AccessTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        default=None,
        description="The next refresh token, when the request sent one in its body. Browsers get "
        "it in an httpOnly cookie instead.",
    )


class RefreshRequest(BaseModel):
    refresh_token: UserText | None = Field(
        default=None, max_length=200, description="Omit to use the refresh cookie."
    )


class IdentityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    provider: str
    email: str | None
    name: str | None
    avatar_url: str | None


class MeRead(UserRead):
    identities: list[IdentityRead]


class PersonalTokenCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: UserText = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class PersonalTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    display_prefix: str = Field(description="The token's first characters, to recognise it.")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class PersonalTokenCreated(PersonalTokenRead):
    token: str = Field(description="Shown once; only its hash is kept.")


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int


class SignInCodeRequest(BaseModel):
    code: str = Field(
        min_length=1,
        max_length=200,
        description="The code of a `Sign in: …/sign-in?code=…` link from `jeex-idea serve` or "
        "`jeex-idea sign-in-link`.",
    )


class LocalSignInRead(BaseModel):
    enabled: bool = Field(
        description="Whether POST /auth/sign-in-code is available: in development only."
    )
