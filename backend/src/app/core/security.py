"""Our own credentials: short-lived JWT access tokens and opaque, hashed long-lived tokens."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import status

from app.core.config import AuthSettings
from app.core.errors import AppError
from app.core.keys import SigningKey, load_retired_public_keys

# One asymmetric algorithm, named explicitly: no "none", and no HMAC that a public key could be
# mistaken for a secret of.
ALGORITHM: Final = "ES256"
ACCESS_TOKEN_TYPE: Final = "access"
REFRESH_TOKEN_PREFIX: Final = "jxr_"
PERSONAL_TOKEN_PREFIX: Final = "jxp_"
_REQUIRED_CLAIMS: Final = ["exp", "iat", "iss", "aud", "sub", "typ", "jti"]


class InvalidCredentialsError(AppError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"

    def __init__(self, message: str = "The access token is missing, invalid or expired.") -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UUID
    expires_at: datetime


class AccessTokens:
    """Issues access tokens with the current key; verifies them against current and retired."""

    def __init__(self, settings: AuthSettings, signing_key: SigningKey) -> None:
        self._signing_key = signing_key
        self._verification_keys: dict[str, ec.EllipticCurvePublicKey] = {
            **load_retired_public_keys(settings),
            signing_key.kid: signing_key.public_key,
        }
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self.ttl = timedelta(seconds=settings.access_token_ttl_seconds)

    def issue(self, user_id: UUID) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "typ": ACCESS_TOKEN_TYPE,
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid4().hex,
        }
        return jwt.encode(
            claims,
            self._signing_key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": self._signing_key.kid},
        )

    def verify(self, token: str) -> AccessClaims:
        """Whose a valid access token is, and until when; anything else is one indistinct
        401."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._verification_keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise InvalidCredentialsError
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
            if claims["typ"] != ACCESS_TOKEN_TYPE:
                raise InvalidCredentialsError
            return AccessClaims(
                user_id=UUID(claims["sub"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidCredentialsError from None


def new_opaque_token(prefix: str) -> tuple[str, str]:
    """A fresh token to hand out once, and the hash that is all we keep of it."""
    token = prefix + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    # 256 random bits need no slow hash: a fast digest cannot be brute-forced back.
    return hashlib.sha256(token.encode()).hexdigest()
