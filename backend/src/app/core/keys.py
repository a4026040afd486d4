"""The key that signs our access tokens.

In production it comes only from ``JEEX_JWT_PRIVATE_KEY``. On a developer's machine it is
generated once and stored in the data dir, readable by its owner alone, so that tokens survive a
restart without anyone having to invent a secret.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.core.config import AuthSettings, Settings, SettingsError

SIGNING_KEY_FILE = "keys/jwt-signing-key.pem"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    public_der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(public_der).hexdigest()[:16]


def _parse_pem(pem: bytes, origin: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as error:
        raise SettingsError(f"{origin}: not a PEM private key") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SettingsError(f"{origin}: the key must be an EC P-256 private key")
    return key


def _generate_into(path: Path) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return pem


def load_signing_key(settings: Settings) -> SigningKey:
    if settings.jwt_private_key is not None:
        origin = "JEEX_JWT_PRIVATE_KEY"
        pem = settings.jwt_private_key.get_secret_value().encode()
    elif settings.is_production:
        raise SettingsError("JEEX_JWT_PRIVATE_KEY: required when JEEX_ENVIRONMENT=production")
    else:
        path = settings.data_dir / SIGNING_KEY_FILE
        origin = str(path)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            try:
                pem = _generate_into(path)
            except FileExistsError:
                pem = path.read_bytes()
    private_key = _parse_pem(pem, origin)
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)


def load_retired_public_keys(settings: AuthSettings) -> dict[str, ec.EllipticCurvePublicKey]:
    """Public keys of signing keys that were rotated out, by key id."""
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for index, pem in enumerate(settings.retired_public_keys):
        try:
            key = serialization.load_pem_public_key(pem.encode())
        except ValueError as error:
            raise SettingsError(f"JEEX_JWT_RETIRED_PUBLIC_KEYS[{index}]: not a PEM key") from error
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise SettingsError(f"JEEX_JWT_RETIRED_PUBLIC_KEYS[{index}]: not an EC P-256 key")
        assert isinstance(key, ec.EllipticCurvePublicKey)
        keys[key_id(key)] = key
    return keys
