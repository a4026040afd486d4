import pytest

from app.core.config import (
    LOCAL_EMBEDDINGS_DIMENSIONS,
    LOCAL_EMBEDDINGS_MODEL,
    EmbeddingsProvider,
    SettingsError,
    load_settings,
)


def set_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(f"JEEX_{name}", value)


def test_the_default_is_the_local_model_with_its_size() -> None:
    settings = load_settings()
    assert settings.embeddings_provider is EmbeddingsProvider.LOCAL
    assert settings.embeddings_model == LOCAL_EMBEDDINGS_MODEL
    assert settings.embeddings_size == LOCAL_EMBEDDINGS_DIMENSIONS
    assert settings.memory_collection == "jeex_memory"


def test_the_local_model_may_be_named_by_its_short_name(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, EMBEDDINGS_MODEL="all-MiniLM-L6-v2", EMBEDDINGS_DIMENSIONS="384")
    assert load_settings().embeddings_model == LOCAL_EMBEDDINGS_MODEL


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EMBEDDINGS_MODEL", "bge-m3", "runs sentence-transformers/all-MiniLM-L6-v2 only"),
        ("EMBEDDINGS_DIMENSIONS", "768", "have 384"),
        ("EMBEDDINGS_BASE_URL", "http://localhost:11434/v1", "only used when"),
        ("EMBEDDINGS_API_KEY", "sk-test", "only used when"),
    ],
)
def test_the_local_provider_refuses_settings_it_would_ignore(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    set_env(monkeypatch, **{variable: value})
    with pytest.raises(SettingsError, match=f"JEEX_{variable}: .*{message}"):
        load_settings()


def test_an_openai_compatible_server_needs_a_model_and_a_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch, EMBEDDINGS_PROVIDER="openai", EMBEDDINGS_BASE_URL="http://x/v1")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "JEEX_EMBEDDINGS_MODEL: Value error, required" in str(caught.value)
    assert "JEEX_EMBEDDINGS_DIMENSIONS: Value error, required" in str(caught.value)


def test_an_openai_compatible_server_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        EMBEDDINGS_PROVIDER="openai",
        EMBEDDINGS_BASE_URL="http://localhost:11434/v1/",
        EMBEDDINGS_MODEL="nomic-embed-text",
        EMBEDDINGS_DIMENSIONS="768",
    )
    settings = load_settings()
    assert settings.embeddings_base_url == "http://localhost:11434/v1"
    assert settings.embeddings_api_key is None
    assert settings.embeddings_size == 768


def test_openai_itself_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        EMBEDDINGS_PROVIDER="openai",
        EMBEDDINGS_MODEL="text-embedding-3-small",
        EMBEDDINGS_DIMENSIONS="1536",
    )
    with pytest.raises(SettingsError, match=r"JEEX_EMBEDDINGS_API_KEY: .*required for OpenAI"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EMBEDDINGS_BASE_URL", "localhost:11434"),
        ("EMBEDDINGS_MODEL", "  "),
        ("MEMORY_COLLECTION", "no spaces please"),
        ("MEMORY_CHUNK_OVERLAP_CHARS", "500"),
    ],
)
def test_malformed_memory_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    set_env(
        monkeypatch,
        EMBEDDINGS_PROVIDER="openai",
        EMBEDDINGS_BASE_URL="http://x/v1",
        EMBEDDINGS_MODEL="m",
        EMBEDDINGS_DIMENSIONS="8",
    )
    set_env(monkeypatch, **{variable: value})
    with pytest.raises(SettingsError, match=f"JEEX_{variable}"):
        load_settings()
