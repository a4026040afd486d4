from pathlib import Path

import pytest

from app.core.config import Environment, LogFormat, Settings, SettingsError, load_settings


def test_defaults_put_data_under_the_users_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/somebody")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    settings = load_settings()
    assert settings.data_dir == Path("/home/somebody/.local/share/jeex-idea")
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url is None


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_DATABASE_POOL_SIZE", "lots")
    monkeypatch.setenv("JEEX_LOG_LEVEL", "chatty")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "JEEX_DATABASE_POOL_SIZE" in message
    assert "JEEX_LOG_LEVEL" in message


def test_a_database_url_of_another_kind_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_DATABASE_URL", "mysql://user@db/app")
    with pytest.raises(SettingsError, match="JEEX_DATABASE_URL"):
        load_settings()


def test_data_dir_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JEEX_DATA_DIR", "relative/data")
    assert load_settings().data_dir == tmp_path / "relative" / "data"


def test_log_level_is_upper_cased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_exports_live_under_the_data_dir_unless_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JEEX_DATA_DIR", str(tmp_path))
    assert load_settings().exports_path == tmp_path / "exports"
    monkeypatch.setenv("JEEX_EXPORT_DIR", str(tmp_path / "shared" / ".." / "volume"))
    assert load_settings().exports_path == tmp_path / "volume"


def test_a_bad_cleanup_schedule_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_EXPORT_CLEANUP_CRON", "every ten minutes")
    with pytest.raises(SettingsError, match=r"JEEX_EXPORT_CLEANUP_CRON: .*not a cron expression"):
        load_settings()


def test_logs_are_for_a_person_in_development_and_for_a_collector_in_production(
    tmp_path: Path,
) -> None:
    assert Settings(data_dir=tmp_path).logging.format is LogFormat.CONSOLE
    assert Settings(data_dir=tmp_path, environment="production").logging.format is LogFormat.JSON
    chosen = Settings(data_dir=tmp_path, environment="production", log_format="console")
    assert chosen.logging.format is LogFormat.CONSOLE
