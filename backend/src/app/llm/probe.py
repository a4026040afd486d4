"""Is the configured model provider there? A cheap, keyed request that generates nothing.

Readiness reports the answer without failing on it (a service whose model provider is away
still serves documents, members and exports); ``jeex-idea doctor`` goes further and makes a real
structured call.
"""

import time
from dataclasses import dataclass
from enum import StrEnum

import httpx

from app.core.config import LLMProvider, LLMSettings

_OPENAI_API = "https://api.openai.com/v1"
_ANTHROPIC_API = "https://api.anthropic.com"
_ANTHROPIC_VERSION = "2023-06-01"


class LLMReachability(StrEnum):
    NOT_CONFIGURED = "not_configured"
    OK = "ok"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class LLMProbe:
    status: LLMReachability
    error: str | None
    latency_ms: float


def is_configured(settings: LLMSettings) -> bool:
    return settings.model is not None or bool(settings.agent_models)


def models_url(settings: LLMSettings) -> str:
    """The provider's model list: every supported API answers it without generating."""
    if settings.provider is LLMProvider.ANTHROPIC:
        return f"{(settings.base_url or _ANTHROPIC_API).rstrip('/')}/v1/models"
    return f"{(settings.base_url or _OPENAI_API).rstrip('/')}/models"


def _auth_headers(settings: LLMSettings) -> dict[str, str]:
    if settings.api_key is None:
        return {}
    key = settings.api_key.get_secret_value()
    if settings.provider is LLMProvider.ANTHROPIC:
        return {"x-api-key": key, "anthropic-version": _ANTHROPIC_VERSION}
    return {"Authorization": f"Bearer {key}"}


async def probe(settings: LLMSettings, timeout_seconds: float) -> LLMProbe:
    """Ask the provider for its model list within ``timeout_seconds``."""
    if not is_configured(settings):
        return LLMProbe(LLMReachability.NOT_CONFIGURED, None, 0.0)
    started = time.perf_counter()
    error = await _models_list_error(settings, timeout_seconds)
    latency = round((time.perf_counter() - started) * 1000, 2)
    status = LLMReachability.OK if error is None else LLMReachability.UNREACHABLE
    return LLMProbe(status, error, latency)


async def _models_list_error(settings: LLMSettings, timeout_seconds: float) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds) as client:
            response = await client.get(models_url(settings), headers=_auth_headers(settings))
    except httpx.TimeoutException:
        return f"no answer within {timeout_seconds:g}s"
    except httpx.HTTPError as error:
        # The class name says what went wrong without echoing a URL that may carry a secret.
        return f"cannot connect ({type(error).__name__})"
    if response.status_code in (401, 403):
        return f"the provider refused the API key (HTTP {response.status_code})"
    if response.is_error:
        return f"the provider answered HTTP {response.status_code}"
    return None


async def available_models(settings: LLMSettings, timeout_seconds: float) -> list[str] | None:
    """The model names the provider lists, or None when it gives no readable list (some
    compatible servers answer the request without one)."""
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds) as client:
            response = await client.get(models_url(settings), headers=_auth_headers(settings))
        if response.is_error:
            return None
        listed = response.json().get("data")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    if not isinstance(listed, list):
        return None
    return [str(item["id"]) for item in listed if isinstance(item, dict) and "id" in item]
