from pathlib import Path

import pytest

from app.auth.exceptions import InvalidReturnPathError
from app.auth.login import safe_return_path
from app.core.config import SettingsError, load_settings


def test_a_provider_needs_the_public_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JEEX_AUTH_GITHUB_CLIENT_ID", "id")
    monkeypatch.setenv("JEEX_AUTH_GITHUB_CLIENT_SECRET", "secret")
    with pytest.raises(SettingsError, match="JEEX_PUBLIC_URL"):
        load_settings()


def test_client_id_and_secret_come_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_PUBLIC_URL", "https://jeex.example")
    monkeypatch.setenv("JEEX_AUTH_X_CLIENT_ID", "id")
    with pytest.raises(SettingsError, match="JEEX_AUTH_X_CLIENT_SECRET"):
        load_settings()


def test_generic_oidc_providers_are_named_slugs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_PUBLIC_URL", "https://jeex.example")
    monkeypatch.setenv(
        "JEEX_AUTH_OIDC_PROVIDERS",
        '{"github": {"discovery_url": "https://idp.example/.well-known/openid-configuration",'
        ' "client_id": "c", "client_secret": "s"}}',
    )
    with pytest.raises(SettingsError, match="JEEX_AUTH_OIDC_PROVIDERS"):
        load_settings()


def test_configured_providers_are_listed_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_PUBLIC_URL", "https://jeex.example")
    for provider in ("X", "GITHUB"):
        monkeypatch.setenv(f"JEEX_AUTH_{provider}_CLIENT_ID", "id")
        monkeypatch.setenv(f"JEEX_AUTH_{provider}_CLIENT_SECRET", "secret")
    monkeypatch.setenv(
        "JEEX_AUTH_OIDC_PROVIDERS",
        '{"corp": {"discovery_url": "https://idp.example/.well-known/openid-configuration",'
        ' "client_id": "c", "client_secret": "s"}}',
    )
    assert load_settings().configured_providers == ["x", "github", "corp"]


@pytest.mark.parametrize("path", ["/", "/projects/1?tab=docs#top", "/a/b"])
def test_local_paths_are_safe_return_paths(path: str) -> None:
    assert safe_return_path(path) == path


@pytest.mark.parametrize(
    "path", ["", "https://evil.example", "//evil.example", "/\\evil", "/x\nLocation: y", "x"]
)
def test_anything_else_is_refused(path: str) -> None:
    with pytest.raises(InvalidReturnPathError):
        safe_return_path(path)
