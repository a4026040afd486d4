"""LLM settings: validated at start-up by variable name; providers and models chosen from them."""

import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

from app.core.config import LLMProvider, SettingsError, load_settings
from app.llm.constants import AgentName
from app.llm.exceptions import LLMNotConfiguredError
from app.llm.providers import build_model, build_provider, create_http_client
from app.llm.routing import ModelRoute, resolve_routes

SECRET = "sk-test-very-secret"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"JEEX_LLM_MODEL": "gpt-4.1"}, "JEEX_LLM_API_KEY"),
        ({"JEEX_LLM_MODEL": "claude-x", "JEEX_LLM_PROVIDER": "anthropic"}, "JEEX_LLM_API_KEY"),
        ({"JEEX_LLM_MODEL": "  "}, "JEEX_LLM_MODEL"),
        ({"JEEX_LLM_MODEL": "m", "JEEX_LLM_BASE_URL": "localhost:11434"}, "JEEX_LLM_BASE_URL"),
        ({"JEEX_LLM_AGENT_MODELS": '{"qa_expert": "m"}'}, "JEEX_LLM_AGENT_MODELS"),
        ({"JEEX_LLM_MODEL": "m", "JEEX_LLM_AGENT_MODELS": "{oops"}, "JEEX_LLM_AGENT_MODELS"),
        (
            {"JEEX_LLM_MODEL": "m", "JEEX_LLM_AGENT_MODELS": '{"qa_expert": ""}'},
            "JEEX_LLM_AGENT_MODELS",
        ),
        ({"JEEX_LLM_PROVIDER": "mystery"}, "JEEX_LLM_PROVIDER"),
        ({"JEEX_LLM_MAX_ATTEMPTS": "0"}, "JEEX_LLM_MAX_ATTEMPTS"),
    ],
)
def test_a_bad_llm_setting_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


@pytest.mark.parametrize(
    ("provider", "base_url"),
    [
        ("ollama", "http://127.0.0.1:11434/v1"),
        ("LM-Studio", "http://127.0.0.1:1234/v1"),
        ("llama.cpp", "http://127.0.0.1:8080/v1"),
        ("openrouter", "https://openrouter.ai/api/v1"),
    ],
)
def test_a_compatible_server_named_as_the_provider_gets_the_settings_that_reach_it(
    monkeypatch: pytest.MonkeyPatch, provider: str, base_url: str
) -> None:
    monkeypatch.setenv("JEEX_LLM_PROVIDER", provider)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "JEEX_LLM_PROVIDER=openai" in str(caught.value)
    assert f"JEEX_LLM_BASE_URL={base_url}" in str(caught.value)


def test_a_local_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_LLM_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("JEEX_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = load_settings()
    assert settings.llm_api_key is None
    assert resolve_routes(settings.llm).configured


def test_without_a_model_nothing_is_configured_and_every_agent_says_so() -> None:
    routes = resolve_routes(load_settings().llm)
    assert not routes.configured
    for agent in AgentName:
        with pytest.raises(LLMNotConfiguredError) as caught:
            routes.for_agent(agent)
        assert (caught.value.code, caught.value.status_code) == ("llm_not_configured", 503)


def test_agents_use_the_default_model_unless_named_in_agent_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JEEX_LLM_MODEL", "small")
    monkeypatch.setenv("JEEX_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("JEEX_LLM_AGENT_MODELS", '{"product_manager": "large"}')
    routes = resolve_routes(load_settings().llm)
    assert routes.for_agent(AgentName.PRODUCT_MANAGER) == ModelRoute(LLMProvider.OPENAI, "large")
    assert routes.for_agent(AgentName.QA_EXPERT) == ModelRoute(LLMProvider.OPENAI, "small")
    assert {route.key for route in routes.all()} == {"openai:small", "openai:large"}


def test_an_unknown_agent_name_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JEEX_LLM_MODEL", "m")
    monkeypatch.setenv("JEEX_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("JEEX_LLM_AGENT_MODELS", '{"product_manger": "large"}')
    with pytest.raises(
        SettingsError, match=r"JEEX_LLM_AGENT_MODELS: unknown agent name.*product_manger"
    ):
        resolve_routes(load_settings().llm)


async def test_anthropic_is_selected_by_provider_with_its_sdk_retries_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JEEX_LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("JEEX_LLM_MODEL", "claude-sonnet-4-5")
    monkeypatch.setenv("JEEX_LLM_API_KEY", SECRET)
    settings = load_settings()
    http_client = create_http_client(settings.llm)
    provider = build_provider(settings.llm, http_client)
    (route,) = resolve_routes(settings.llm).all()

    model = build_model(route, provider)

    assert isinstance(provider, AnthropicProvider)
    assert isinstance(provider.client, AsyncAnthropic)
    assert provider.client.max_retries == 0
    assert isinstance(model, AnthropicModel)
    assert model.model_name == "claude-sonnet-4-5"
    assert SECRET not in repr(settings)
    await http_client.aclose()


async def test_openai_itself_is_used_without_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEEX_LLM_MODEL", "gpt-4.1")
    monkeypatch.setenv("JEEX_LLM_API_KEY", SECRET)
    settings = load_settings()
    http_client = create_http_client(settings.llm)
    provider = build_provider(settings.llm, http_client)

    assert type(provider) is OpenAIProvider
    assert isinstance(provider.client, AsyncOpenAI)
    assert provider.client.max_retries == 0
    assert provider.base_url.startswith("https://api.openai.com")
    assert isinstance(
        build_model(ModelRoute(LLMProvider.OPENAI, "gpt-4.1"), provider), OpenAIChatModel
    )
    await http_client.aclose()


async def test_another_server_gets_the_compatible_provider_and_our_timeouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JEEX_LLM_MODEL", "llama3")
    monkeypatch.setenv("JEEX_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("JEEX_LLM_CONNECT_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("JEEX_LLM_READ_TIMEOUT_SECONDS", "45")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings = load_settings()
    http_client = create_http_client(settings.llm)
    provider = build_provider(settings.llm, http_client)

    assert isinstance(provider, OpenAICompatibleProvider)
    assert provider.name == "openai-compatible"
    assert provider.client.max_retries == 0
    assert provider.client.api_key != SECRET  # OPENAI_API_KEY is not sent to another server
    assert (http_client.timeout.connect, http_client.timeout.read) == (2, 45)
    await http_client.aclose()
