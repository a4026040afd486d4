"""pydantic-ai models for the configured provider, with the SDKs' own retries turned off.

Retrying is the gateway's job (:mod:`app.llm.resilience`): an SDK retrying underneath would
multiply attempts, hide them from the usage record and sleep without honouring our limits.
"""

from typing import Any

import httpx2
from pydantic_ai.models import Model, create_async_httpx2_client
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers import Provider
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

from app.core.config import LLMProvider, LLMSettings
from app.llm.constants import OPENAI_COMPATIBLE_SYSTEM
from app.llm.routing import ModelRoute


def create_http_client(settings: LLMSettings) -> httpx2.AsyncClient:
    """One pooled client for every model: a short connect timeout, a long read timeout.

    The read timeout bounds each wait for bytes, so a stream that stalls mid-way fails too.
    """
    timeout = httpx2.Timeout(
        settings.read_timeout_seconds, connect=settings.connect_timeout_seconds
    )
    return create_async_httpx2_client(timeout=timeout)


def build_provider(settings: LLMSettings, http_client: httpx2.AsyncClient) -> Provider[Any]:
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    if settings.provider is LLMProvider.ANTHROPIC:
        # Imported only when chosen: the Anthropic SDK adds about a second to start-up.
        from anthropic import AsyncAnthropic
        from pydantic_ai.providers.anthropic import AnthropicProvider

        client = AsyncAnthropic(
            api_key=api_key, base_url=settings.base_url, http_client=http_client, max_retries=0
        )
        return AnthropicProvider(anthropic_client=client)
    if settings.base_url is None:
        openai = OpenAIProvider(api_key=api_key, http_client=http_client)
        return OpenAIProvider(openai_client=openai.client.with_options(max_retries=0))
    # The compatible provider never reads OPENAI_API_KEY, so an OpenAI key in the environment is
    # not sent to another server, and it copes with keyless local servers (Ollama, llama.cpp).
    compatible = OpenAICompatibleProvider(
        OPENAI_COMPATIBLE_SYSTEM,
        base_url=settings.base_url,
        api_key=api_key,
        http_client=http_client,
    )
    return OpenAICompatibleProvider(
        OPENAI_COMPATIBLE_SYSTEM, openai_client=compatible.client.with_options(max_retries=0)
    )


def build_model(route: ModelRoute, provider: Provider[Any]) -> Model:
    if route.provider is LLMProvider.ANTHROPIC:
        from pydantic_ai.models.anthropic import AnthropicModel

        return AnthropicModel(route.model_name, provider=provider)
    # Chat Completions rather than the Responses API: it is what every OpenAI-compatible
    # server (OpenRouter, Ollama, vLLM, llama.cpp, LM Studio) implements.
    return OpenAIChatModel(route.model_name, provider=provider)
