"""Every way to forge or misuse an access token ends in the same 401."""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from httpx import AsyncClient

from app.resources import Resources
from tests.factories import create_user

ME = "/api/v1/auth/me"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(resources: Resources, user_id: UUID, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": resources.settings.jwt_issuer,
        "aud": resources.settings.jwt_audience,
        "sub": str(user_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": uuid4().hex,
    }
    claims.update(overrides)
    return claims


def _signed(resources: Resources, claims: dict[str, object]) -> str:
    key = resources.signing_key
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def _alg_none(resources: Resources, user_id: UUID) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": resources.signing_key.kid}
    payload = _claims(resources, user_id)
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."


def _hs256_with_public_key(resources: Resources, user_id: UUID) -> str:
    """The classic confusion: HMAC keyed with the server's public key, which anyone has."""
    public_pem = resources.signing_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": resources.signing_key.kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}."
        f"{_b64(json.dumps(_claims(resources, user_id)).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _unknown_kid(resources: Resources, user_id: UUID) -> str:
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(
        _claims(resources, user_id),
        stranger,
        algorithm="ES256",
        headers={"kid": "0123456789abcdef"},
    )


def _right_kid_wrong_key(resources: Resources, user_id: UUID) -> str:
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(
        _claims(resources, user_id),
        stranger,
        algorithm="ES256",
        headers={"kid": resources.signing_key.kid},
    )


def _tampered(resources: Resources, user_id: UUID) -> str:
    header, _, signature = _signed(resources, _claims(resources, user_id)).split(".")
    forged = _b64(json.dumps(_claims(resources, uuid4())).encode())
    return f"{header}.{forged}.{signature}"


def _expired(resources: Resources, user_id: UUID) -> str:
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    return _signed(resources, _claims(resources, user_id, exp=past))


FORGERIES: dict[str, Callable[[Resources, UUID], str]] = {
    "alg_none": _alg_none,
    "hs256_keyed_with_public_key": _hs256_with_public_key,
    "unknown_kid": _unknown_kid,
    "right_kid_wrong_key": _right_kid_wrong_key,
    "tampered_payload": _tampered,
    "expired": _expired,
    "wrong_audience": lambda r, u: _signed(r, _claims(r, u, aud="another-api")),
    "wrong_issuer": lambda r, u: _signed(r, _claims(r, u, iss="https://evil.example")),
    "wrong_type": lambda r, u: _signed(r, _claims(r, u, typ="refresh")),
    "missing_jti": lambda r, u: _signed(r, {k: v for k, v in _claims(r, u).items() if k != "jti"}),
    "not_a_jwt": lambda r, u: "definitely.not.a-token",
    "garbage": lambda r, u: "x",
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_a_forged_or_misused_token_is_refused(
    client: AsyncClient, resources: Resources, forgery: str
) -> None:
    user_id = await create_user(resources, "victim@example.com")
    token = FORGERIES[forgery](resources, user_id)
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert response.headers["www-authenticate"] == "Bearer"
    assert "victim@example.com" not in response.text


async def test_a_genuine_token_is_accepted(client: AsyncClient, resources: Resources) -> None:
    user_id = await create_user(resources, "real@example.com", name="Real")
    token = resources.access_tokens.issue(user_id)
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user_id)
    assert body["email"] == "real@example.com"
    assert body["identities"] == []


async def test_issued_tokens_carry_the_required_claims(resources: Resources) -> None:
    user_id = uuid4()
    token = resources.access_tokens.issue(user_id)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "ES256"
    assert header["kid"] == resources.signing_key.kid
    assert claims["sub"] == str(user_id)
    assert claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] <= 15 * 60


async def test_no_token_and_a_non_bearer_scheme_are_refused(client: AsyncClient) -> None:
    assert (await client.get(ME)).status_code == 401
    basic = await client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


async def test_a_token_of_a_deleted_user_is_refused(
    client: AsyncClient, resources: Resources
) -> None:
    token = resources.access_tokens.issue(uuid4())
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
