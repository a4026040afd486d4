"""What the auth domain needs from the application's resources (built in :mod:`app.resources`)."""

from typing import Annotated, Protocol

from fastapi import Depends
from redis.asyncio import Redis

from app.auth.principals import PrincipalCache, ProfileCache
from app.auth.providers import Provider
from app.core.config import Settings
from app.core.deps import get_resources
from app.core.rate_limit import RateLimiter
from app.core.security import AccessTokens


class AuthResources(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def redis(self) -> Redis: ...
    @property
    def access_tokens(self) -> AccessTokens: ...
    @property
    def auth_providers(self) -> dict[str, Provider]: ...
    @property
    def rate_limiter(self) -> RateLimiter: ...
    @property
    def principals(self) -> PrincipalCache: ...
    @property
    def profiles(self) -> ProfileCache: ...


AuthResourcesDep = Annotated[AuthResources, Depends(get_resources)]
