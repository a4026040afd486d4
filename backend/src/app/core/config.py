"""Settings read from the environment (prefix ``JEEX_``).

A value of the wrong shape stops start-up with a message naming the variable; nothing here has
a placeholder secret. Parts whose URL is unset run embedded under ``data_dir``.
"""

from enum import StrEnum
from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field, RedisDsn, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
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

    llm_provider: LLMProvider = LLMProvider.OPENAI
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None

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
