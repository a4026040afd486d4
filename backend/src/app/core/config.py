"""Settings read from the environment (prefix ``JEEX_``).

A value of the wrong shape stops start-up with a message naming the variable; nothing here has
a placeholder secret. Parts whose URL is unset run embedded under ``data_dir``.
"""

import json
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import (
    Field,
    RedisDsn,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "JEEX_"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class LLMProvider(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class LLMOutputMode(StrEnum):
    """How a model is asked for structured output: a tool call, the API's JSON-schema response
    format, or a schema written into the prompt (for small local models without either)."""

    TOOL = "tool"
    NATIVE = "native"
    PROMPTED = "prompted"


class EmbeddingsProvider(StrEnum):
    LOCAL = "local"
    OPENAI = "openai"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("jeex-idea", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(default_factory=default_data_dir)

    database_url: str | None = Field(
        default=None,
        description="postgresql:// URL; a Unix socket goes in ?host=/path/to/dir.",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    database_statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)

    redis_url: RedisDsn | None = None
    redis_timeout_seconds: float = Field(default=2.0, gt=0, le=60)

    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None

    # --- LLM gateway (app.llm). Without JEEX_LLM_MODEL the service runs and agents fail with
    # llm_not_configured; a model that is set but cannot be reached without a key stops start-up.
    llm_provider: LLMProvider = LLMProvider.OPENAI
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_agent_models: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="JSON object mapping an agent name to the model it uses on the same provider, "
        'e.g. {"product_manager": "gpt-4.1"}; agents not named use JEEX_LLM_MODEL.',
    )
    llm_api_key: SecretStr | None = Field(default=None, validate_default=True)
    llm_output_mode: LLMOutputMode = LLMOutputMode.TOOL
    llm_output_retries: int = Field(default=2, ge=0, le=10)
    llm_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    llm_read_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    llm_max_attempts: int = Field(default=4, ge=1, le=20)
    llm_backoff_initial_seconds: float = Field(default=0.5, ge=0, le=60)
    llm_backoff_max_seconds: float = Field(default=20.0, ge=0, le=600)
    llm_retry_after_max_seconds: float = Field(default=60.0, ge=0, le=3600)
    llm_breaker_failure_threshold: int = Field(default=5, ge=1, le=1000)
    llm_breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)
    llm_project_token_budget: int = Field(default=2_000_000, ge=1)
    llm_call_token_limit: int = Field(default=32_000, ge=1)
    llm_user_concurrency: int = Field(default=4, ge=1, le=1000)
    llm_lease_seconds: float = Field(default=900.0, gt=0, le=86_400)
    llm_debug_content: bool = Field(
        default=False, description="Record prompts and outputs in spans. Never in production."
    )

    embeddings_provider: EmbeddingsProvider = EmbeddingsProvider.LOCAL
    embeddings_base_url: str | None = None
    embeddings_model: str | None = None
    embeddings_api_key: SecretStr | None = None

    jwt_private_key: SecretStr | None = Field(
        default=None,
        description="PEM of the EC P-256 key that signs access tokens. Required in production; "
        "in development it is generated once and kept in the data dir.",
    )

    health_check_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.JSON

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL") from None
        if url.get_backend_name() != "postgresql" or not url.database:
            raise ValueError("must be a postgresql:// URL that names a database")
        return value

    @field_validator("llm_base_url", "llm_model")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank; leave it unset instead")
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _http_base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("llm_agent_models", mode="before")
    @classmethod
    def _agent_models_json(cls, value: object) -> object:
        # Decoded here rather than by the settings source, whose error would not name the variable.
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise ValueError(
                'must be a JSON object such as {"product_manager": "gpt-4.1"}'
            ) from None

    @field_validator("llm_agent_models")
    @classmethod
    def _agent_models(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        if value and info.data.get("llm_model") is None:
            raise ValueError("needs JEEX_LLM_MODEL, the model of every agent not named here")
        if any(not name.strip() or not model.strip() for name, model in value.items()):
            raise ValueError("agent names and model names must not be blank")
        return value

    @field_validator("llm_api_key")
    @classmethod
    def _llm_key_when_required(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        # Field order makes provider, base URL and models available here; the check lives on the
        # key so that the message names JEEX_LLM_API_KEY.
        if info.data.get("llm_model") is None or value is not None:
            return value
        if info.data.get("llm_provider") is LLMProvider.ANTHROPIC:
            raise ValueError("required when JEEX_LLM_PROVIDER is anthropic")
        if info.data.get("llm_base_url") is None:
            raise ValueError(
                "required for OpenAI itself (set JEEX_LLM_BASE_URL for another server)"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @cached_property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


class SettingsError(Exception):
    """Start-up configuration is invalid; the message names every offending variable."""


def describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        problems.append(f"{ENV_PREFIX}{field.upper()}: {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
