from pathlib import Path
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.core.config import Settings, SettingsError
from app.core.keys import load_retired_public_keys, load_signing_key
from app.core.security import AccessTokens, InvalidCredentialsError


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_tokens_of_a_retired_key_stay_valid_and_others_do_not(tmp_path: Path) -> None:
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    before = Settings(data_dir=tmp_path, jwt_private_key=_pem(old))
    old_tokens = AccessTokens(before.auth, load_signing_key(before))
    user_id = uuid4()
    issued_before_rotation = old_tokens.issue(user_id)

    rotated = Settings(
        data_dir=tmp_path,
        jwt_private_key=_pem(new),
        jwt_retired_public_keys=[_public_pem(old)],
    )
    assert (
        AccessTokens(rotated.auth, load_signing_key(rotated)).verify(issued_before_rotation).user_id
        == user_id
    )

    forgotten = Settings(data_dir=tmp_path, jwt_private_key=_pem(new))
    with pytest.raises(InvalidCredentialsError):
        AccessTokens(forgotten.auth, load_signing_key(forgotten)).verify(issued_before_rotation)


def test_a_retired_key_that_is_not_p256_is_refused(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, jwt_retired_public_keys=["-----BEGIN PUBLIC KEY-----\nxx\n"]
    )
    with pytest.raises(SettingsError, match=r"JEEX_JWT_RETIRED_PUBLIC_KEYS\[0\]"):
        load_retired_public_keys(settings.auth)
