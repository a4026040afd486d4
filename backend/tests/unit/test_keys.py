import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.core.config import Settings, SettingsError
from app.core.keys import SIGNING_KEY_FILE, load_signing_key


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_development_key_is_generated_once_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_signing_key(settings)
    second = load_signing_key(settings)
    key_file = tmp_path / SIGNING_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.kid == second.kid
    assert len(first.kid) == 16


def test_production_requires_the_key_from_the_environment(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="production")
    with pytest.raises(SettingsError, match="JEEX_JWT_PRIVATE_KEY"):
        load_signing_key(settings)
    assert not (tmp_path / SIGNING_KEY_FILE).exists()


def test_key_from_the_environment_is_used(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    settings = Settings(data_dir=tmp_path, jwt_private_key=_pem(key))
    loaded = load_signing_key(settings)
    assert loaded.public_key.public_numbers() == key.public_key().public_numbers()
    assert not (tmp_path / SIGNING_KEY_FILE).exists()


@pytest.mark.parametrize("pem", ["not a key", "rsa"])
def test_a_key_of_the_wrong_kind_is_refused(tmp_path: Path, pem: str) -> None:
    if pem == "rsa":
        pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    settings = Settings(data_dir=tmp_path, jwt_private_key=pem)
    with pytest.raises(SettingsError, match="JEEX_JWT_PRIVATE_KEY"):
        load_signing_key(settings)
