"""Settings read from the environment (prefix ``JEEX_``).

A value of the wrong shape stops start-up with a message naming the variable; nothing here has
a placeholder secret. Parts whose URL is unset run embedded under ``data_dir``.

:class:`Settings` reads the environment: one flat field per variable (``llm_model`` is
``JEEX_LLM_MODEL``), which is the stable contract. Each domain's collaborators take only their
own group, a frozen view built from those fields (``settings.llm`` is an :class:`LLMSettings`,
``settings.events`` an :class:`EventsSettings`, …), with the domain's prefix dropped.
"""

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

import platformdirs
from croniter import croniter
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    RedisDsn,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
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


# Servers people name as a provider, with the base URL each listens on by default.
OPENAI_COMPATIBLE_SERVERS: dict[str, tuple[str, str]] = {
    "ollama": ("Ollama", "http://127.0.0.1:11434/v1"),
    "lmstudio": ("LM Studio", "http://127.0.0.1:1234/v1"),
    "lm-studio": ("LM Studio", "http://127.0.0.1:1234/v1"),
    "llamacpp": ("The llama.cpp server", "http://127.0.0.1:8080/v1"),
    "llama.cpp": ("The llama.cpp server", "http://127.0.0.1:8080/v1"),
    "llama-cpp": ("The llama.cpp server", "http://127.0.0.1:8080/v1"),
    "openrouter": ("OpenRouter", "https://openrouter.ai/api/v1"),
    "vllm": ("vLLM", "http://127.0.0.1:8000/v1"),
}


class LLMOutputMode(StrEnum):
    """How a model is asked for structured output: a tool call, the API's JSON-schema response
    format, or a schema written into the prompt (for small local models without either)."""

    TOOL = "tool"
    NATIVE = "native"
    PROMPTED = "prompted"


class LLMCallKind(StrEnum):
    """What a model call is for; each kind has its own bound on the tokens it may write
    (``JEEX_LLM_MAX_TOKENS_<KIND>``), sent with every request of that kind."""

    OPENING = "opening"
    INTENT = "intent"
    QUESTIONS = "questions"
    SECTION = "section"
    INTEGRATION = "integration"
    CLOSING = "closing"


class EmbeddingsProvider(StrEnum):
    LOCAL = "local"
    OPENAI = "openai"


LOCAL_EMBEDDINGS_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL_EMBEDDINGS_DIMENSIONS = 384

BUILT_IN_PROVIDERS = ("x", "github", "google")
_PROVIDER_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("jeex-idea", appauthor=False))


def default_web_dist_dir() -> Path | None:
    """``<checkout>/frontend/dist`` when this package runs from a checkout of the repository (the
    editable install scripts/bootstrap.sh makes), whatever the working directory; None for an
    installed wheel, which has no checkout: then JEEX_WEB_DIST_DIR names the built app."""
    checkout = Path(__file__).resolve().parents[4]  # backend/src/app/core/config.py
    if (checkout / "backend" / "pyproject.toml").is_file():
        return checkout / "frontend" / "dist"
    return None


class OidcProviderConfig(BaseModel):
    """A generic OpenID Connect issuer, found through its discovery document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    discovery_url: AnyHttpUrl
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    display_name: str | None = None
    scopes: str = "openid email profile"
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = (
        "client_secret_basic"
    )


# --- The groups: what one domain's collaborators are handed (see Settings' properties).


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    url: str | None
    pool_size: int
    max_overflow: int
    connect_timeout_seconds: float
    startup_timeout_seconds: float
    statement_timeout_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisSettings:
    url: str | None
    timeout_seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class QdrantSettings:
    url: str | None
    api_key: SecretStr | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMSettings:
    provider: LLMProvider
    base_url: str | None
    model: str | None
    agent_models: Mapping[str, str]
    api_key: SecretStr | None
    output_mode: LLMOutputMode
    output_retries: int
    # The output tokens a request of each kind may ask for (always sent as max_tokens).
    max_tokens: Mapping[LLMCallKind, int]
    connect_timeout_seconds: float
    read_timeout_seconds: float
    # Once a streamed answer has begun, the longest silence between two of its pieces.
    stream_stall_seconds: float
    # Whether the provider stops generating when the client goes away: only then is a request
    # that timed out after being sent tried again (else the retry queues behind the abandoned
    # generation on a busy server).
    cancels_abandoned_requests: bool
    max_attempts: int
    backoff_initial_seconds: float
    backoff_max_seconds: float
    retry_after_max_seconds: float
    breaker_failure_threshold: int
    breaker_reset_seconds: float
    project_token_budget: int
    call_token_limit: int
    user_concurrency: int
    lease_seconds: float
    # Tenant limits (issue 16): a user's own budget over all their projects, and the window
    # after which a budget key expires (it starts at the key's first use).
    user_token_budget: int
    budget_window_seconds: int
    debug_content: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddingsSettings:
    provider: EmbeddingsProvider
    base_url: str | None
    # Validation fills the model and the vector size in for the local provider.
    model: str
    api_key: SecretStr | None
    dimensions: int
    batch_size: int
    local_threads: int
    timeout_seconds: float
    max_attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySettings:
    embeddings: EmbeddingsSettings
    collection: str
    chunk_max_chars: int
    chunk_overlap_chars: int
    search_limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderCredentials:
    client_id: str
    client_secret: SecretStr


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSettings:
    public_url: AnyHttpUrl | None
    jwt_issuer: str
    jwt_audience: str
    # PEM public keys of rotated-out signing keys (JEEX_JWT_RETIRED_PUBLIC_KEYS).
    retired_public_keys: tuple[str, ...]
    access_token_ttl_seconds: int
    refresh_token_ttl_days: int
    # Active (neither revoked nor expired) personal access tokens a user may hold at once.
    max_personal_tokens_per_user: int
    # Days a project invitation stays claimable.
    invitation_ttl_days: int
    login_state_ttl_seconds: int
    # Local sign-in (a local owner account and single-use codes from the CLI): development only.
    local_sign_in: bool
    sign_in_code_ttl_seconds: int
    # The built-in providers that are configured, by name (in BUILT_IN_PROVIDERS' order).
    providers: Mapping[str, ProviderCredentials]
    oidc_providers: Mapping[str, OidcProviderConfig]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitSettings:
    window_seconds: int
    auth_per_window: int
    user_per_window: int
    # Per member of a project, (project, user): one member's traffic never limits another's.
    project_per_window: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationSettings:
    max_turns_per_stage: int
    lease_seconds: float
    max_attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaSettings:
    """What one user may hold at once, so that no tenant crowds out the others."""

    projects_per_user: int
    queued_runs_per_project: int
    queued_runs_per_user: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSettings:
    in_process: bool
    concurrency: int
    job_timeout_seconds: int
    heartbeat_seconds: int
    # Runs one drain job executes before the project goes to the back of the queue, and the
    # slots of the lanes that index memory and build exports beside the conversations.
    runs_per_turn: int
    memory_concurrency: int
    export_concurrency: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSettings:
    # The folder itself: JEEX_EXPORT_DIR, or <data dir>/exports.
    directory: Path
    ttl_seconds: int
    max_attempts: int
    cleanup_cron: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventsSettings:
    stream_maxlen: int
    retention_seconds: int
    ping_seconds: float
    send_timeout_seconds: float
    max_streams: int
    stream_max_seconds: int
    ticket_ttl_seconds: int
    shutdown_grace_seconds: float
    delta_interval_ms: int
    delta_max_chars: int
    max_streams_per_user: int
    access_recheck_seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    max_request_body_bytes: int
    cors_origins: tuple[str, ...]
    # Proxies whose X-Forwarded-For / -Proto `serve` believes; none by default.
    forwarded_allow_ips: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingSettings:
    level: str
    format: LogFormat


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(default_factory=default_data_dir)

    database_url: str | None = Field(
        default=None,
        description="postgresql:// URL; a Unix socket goes in ?host=/path/to/dir.",
    )
    # Connections are opened as needed up to the pool size and then kept. Overflow connections
    # are closed when returned, and each new one pays again for its start-up and for preparing
    # its statements: under a steady load above the pool size that was one new connection for
    # most requests (scripts/bench), so there is none by default.
    database_pool_size: int = Field(default=20, ge=1, le=200)
    database_max_overflow: int = Field(default=0, ge=0, le=200)
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    database_startup_timeout_seconds: float = Field(
        default=8.0,
        gt=0,
        le=300,
        description="How long start-up waits for the database before giving up.",
    )
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
    llm_max_tokens_opening: int = Field(
        default=4096, ge=16, description="Output tokens of the first answer (greeting and idea)."
    )
    llm_max_tokens_intent: int = Field(
        default=512, ge=16, description="Output tokens of classifying a free-text message."
    )
    llm_max_tokens_questions: int = Field(
        default=1536, ge=16, description="Output tokens of an expert's questions."
    )
    llm_max_tokens_section: int = Field(
        default=2048, ge=16, description="Output tokens of an expert's streamed section."
    )
    llm_max_tokens_integration: int = Field(
        default=4096, ge=16, description="Output tokens of the PM's edits to a document."
    )
    llm_max_tokens_closing: int = Field(
        default=512, ge=16, description="Output tokens of the PM's message closing a stage."
    )
    llm_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    llm_read_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    llm_stream_stall_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="A streamed answer that has begun and then sends nothing for this long is "
        "cut (llm_stream_stalled), once.",
    )
    llm_cancels_abandoned_requests: bool | None = Field(
        default=None,
        description="Whether the provider stops generating when a client goes away. Unset: yes "
        "for OpenAI and Anthropic themselves, no for a server at JEEX_LLM_BASE_URL. Only a "
        "provider that cancels gets a request that timed out after being sent tried again.",
    )
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
    llm_user_token_budget: int = Field(
        default=5_000_000, ge=1, description="Tokens one user may spend over all their projects."
    )
    llm_budget_window_seconds: int = Field(
        default=30 * 86_400,
        ge=60,
        le=366 * 86_400,
        description="A budget (per project and per user) starts again this long after its first "
        "use; a project's owners can also reset the project's budget.",
    )
    llm_debug_content: bool = Field(
        default=False, description="Record prompts and outputs in spans. Never in production."
    )

    # --- Project memory (app.memory): embeddings and the Qdrant collection. ``local`` runs the
    # all-MiniLM-L6-v2 model shipped in a PyPI package; ``openai`` is any OpenAI-compatible
    # /v1/embeddings. A setting the chosen provider would ignore stops start-up instead.
    embeddings_provider: EmbeddingsProvider = EmbeddingsProvider.LOCAL
    embeddings_base_url: str | None = Field(default=None, validate_default=True)
    embeddings_model: str | None = Field(default=None, validate_default=True)
    embeddings_api_key: SecretStr | None = Field(default=None, validate_default=True)
    embeddings_dimensions: int | None = Field(
        default=None,
        ge=1,
        le=65_536,
        validate_default=True,
        description="Size of the model's vectors, and so of the collection's; required for "
        f"openai, {LOCAL_EMBEDDINGS_DIMENSIONS} (the only size) for local.",
    )
    embeddings_batch_size: int = Field(default=32, ge=1, le=2048)
    embeddings_local_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="PyTorch threads of the local model. One keeps a search's query embedding "
        "steady on a small shared machine; more speed up indexing of long documents.",
    )
    embeddings_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    embeddings_max_attempts: int = Field(default=3, ge=1, le=10)
    memory_collection: str = Field(default="jeex_memory", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    memory_chunk_max_chars: int = Field(default=1000, ge=200, le=8000)
    memory_chunk_overlap_chars: int = Field(default=150, ge=0, le=2000, validate_default=True)
    memory_search_limit: int = Field(default=8, ge=1, le=100)

    jwt_private_key: SecretStr | None = Field(
        default=None,
        description="PEM of the EC P-256 key that signs access tokens. Required in production; "
        "in development it is generated once and kept in the data dir.",
    )

    public_url: AnyHttpUrl | None = Field(
        default=None,
        description="The origin browsers reach the API at; OAuth redirect URIs are built from "
        "it and must match the provider's registration exactly.",
    )
    jwt_issuer: str = "jeex-idea"
    jwt_audience: str = "jeex-idea-api"
    jwt_retired_public_keys: list[str] = Field(
        default_factory=list,
        description="PEM public keys of retired signing keys, still accepted until their "
        "tokens expire (key rotation).",
    )
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=900)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    max_personal_tokens_per_user: int = Field(default=50, ge=1, le=10_000)
    invitation_ttl_days: int = Field(default=14, ge=1, le=365)
    login_state_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    sign_in_code_ttl_seconds: int = Field(
        default=600,
        ge=1,
        le=3600,
        description="How long a local sign-in code (development only) stays usable.",
    )

    auth_x_client_id: str | None = None
    auth_x_client_secret: SecretStr | None = None
    auth_github_client_id: str | None = None
    auth_github_client_secret: SecretStr | None = None
    auth_google_client_id: str | None = None
    auth_google_client_secret: SecretStr | None = None
    auth_oidc_providers: dict[str, OidcProviderConfig] = Field(default_factory=dict)

    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_auth_per_window: int = Field(default=30, ge=1)
    rate_limit_user_per_window: int = Field(default=600, ge=1)
    rate_limit_project_per_window: int = Field(
        default=600, ge=1, description="Requests per window of one user in one project."
    )

    conversation_max_turns_per_stage: int = Field(
        default=8, ge=1, le=100, description="Expert turns after which a stage closes."
    )
    conversation_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long a run stays claimed without its worker's heartbeat.",
    )
    conversation_max_attempts: int = Field(default=3, ge=1, le=10)
    worker_in_process: bool = Field(
        default=True, description="Run the job worker inside `serve` (off: `jeex-idea worker`)."
    )
    worker_concurrency: int = Field(default=4, ge=1, le=256)
    worker_job_timeout_seconds: int = Field(default=1800, ge=10)
    worker_heartbeat_seconds: int = Field(default=30, ge=2, le=600)
    worker_runs_per_turn: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Runs a project's drain job executes before the project queues again behind "
        "the others.",
    )
    worker_memory_concurrency: int = Field(
        default=2, ge=1, le=256, description="Memory indexing jobs at once, on their own lane."
    )
    worker_export_concurrency: int = Field(
        default=2,
        ge=1,
        le=256,
        description="Exports built at once, on a lane that never waits behind conversations.",
    )
    # --- Quotas per user (app.conversation, app.projects): over one, the request is refused.
    quota_projects_per_user: int = Field(default=50, ge=1, le=100_000)
    quota_queued_runs_per_project: int = Field(default=10, ge=1, le=1000)
    quota_queued_runs_per_user: int = Field(default=20, ge=1, le=10_000)

    # --- Exports (app.exports): ZIP archives of a project's documents, built by the worker.
    export_dir: Path | None = Field(
        default=None,
        description="Where archives are stored; defaults to <data dir>/exports. Every API "
        "replica and worker must see the same folder (a shared volume).",
    )
    export_ttl_seconds: int = Field(
        default=86_400, ge=60, le=30 * 86_400, description="How long an archive is downloadable."
    )
    export_max_attempts: int = Field(default=3, ge=1, le=10)
    export_cleanup_cron: str = Field(
        default="*/10 * * * *",
        description="When the worker removes expired archives (cron syntax, UTC).",
    )

    # --- Events (app.events): one Redis Stream per project (proj:{id}:events), served over SSE.
    events_stream_maxlen: int = Field(
        default=10_000,
        ge=100,
        le=10_000_000,
        description="About how many events a project's stream keeps (XADD MAXLEN ~).",
    )
    events_retention_seconds: int = Field(
        default=86_400,
        ge=60,
        le=30 * 86_400,
        description="Older events are trimmed (XTRIM MINID ~); an idle stream expires after it.",
    )
    events_ping_seconds: float = Field(default=15.0, gt=0, le=300)
    events_send_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="A client slower than this to accept one write is disconnected.",
    )
    events_max_streams: int = Field(
        default=5_000,
        ge=1,
        le=100_000,
        description="Open SSE streams per process; each holds one Redis connection.",
    )
    events_stream_max_seconds: int = Field(
        default=900,
        ge=1,
        le=86_400,
        description="A stream then ends with a reconnect hint, so access is checked again.",
    )
    events_ticket_ttl_seconds: int = Field(default=60, ge=1, le=600)
    events_shutdown_grace_seconds: float = Field(default=2.0, ge=0, le=30)
    events_delta_interval_ms: int = Field(default=50, ge=0, le=5_000)
    events_delta_max_chars: int = Field(default=2_000, ge=1, le=1_000_000)
    events_max_streams_per_user: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Open SSE streams one user may hold in this process; more answer 429.",
    )
    events_access_recheck_seconds: float = Field(
        default=10.0,
        gt=0,
        le=10,
        description="An open stream checks its holder is still a member this often, besides "
        "when told a member was removed; a stream whose access ended closes.",
    )

    # --- HTTP hardening (app.core.middleware).
    max_request_body_bytes: int = Field(
        # A 500 000-character document escaped as \uXXXX (six bytes a character) fits.
        default=4 * 1024 * 1024,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description="Larger request bodies answer 413, whether declared or streamed.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) allowed to call the API from a browser, "
        "comma-separated; none by default, so no CORS headers are sent.",
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto `serve` trusts, comma-separated (or `*`); none by default, so a "
        "client cannot choose the address the per-IP limits count.",
    )

    web_dist_dir: Path | None = Field(
        default_factory=default_web_dist_dir,
        description="The built web app (index.html and assets/) served at /; defaults to "
        "frontend/dist of the checkout the backend runs from.",
    )

    health_check_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    tracing_sample_ratio: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="With an OTLP exporter configured (OTEL_EXPORTER_OTLP_ENDPOINT), the share "
        "of the traces starting here that are recorded; a request arriving with a traceparent "
        "follows its caller's decision.",
    )
    log_level: str = "INFO"
    log_format: LogFormat | None = Field(
        default=None,
        description="`json` or `console`; unset: console in development (beside the start-up "
        "summary a person reads), JSON in production (for a log collector).",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("export_dir", "web_dist_dir")
    @classmethod
    def _absolute_optional_dir(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @field_validator("export_cleanup_cron")
    @classmethod
    def _cron_expression(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError("not a cron expression, e.g. '*/10 * * * *'")
        return value

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

    @field_validator("llm_provider", mode="before")
    @classmethod
    def _compatible_server_named_as_provider(cls, value: object) -> object:
        # These servers speak the OpenAI API: a person who names one gets the two settings that
        # reach it, rather than only the list of the two providers.
        if isinstance(value, str) and value.strip().lower() in OPENAI_COMPATIBLE_SERVERS:
            name, base_url = OPENAI_COMPATIBLE_SERVERS[value.strip().lower()]
            raise ValueError(
                f"{name} speaks the OpenAI API: set JEEX_LLM_PROVIDER=openai (the default) and "
                f"JEEX_LLM_BASE_URL={base_url}"
            )
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

    @field_validator("embeddings_base_url")
    @classmethod
    def _embeddings_base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("embeddings_provider") is not EmbeddingsProvider.OPENAI:
            raise ValueError("only used when JEEX_EMBEDDINGS_PROVIDER is openai")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("embeddings_model")
    @classmethod
    def _embeddings_model(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank; leave it unset instead")
        if info.data.get("embeddings_provider") is EmbeddingsProvider.OPENAI:
            if value is None:
                raise ValueError("required when JEEX_EMBEDDINGS_PROVIDER is openai")
            return value
        # One model ships with the local provider; naming another would silently not be used.
        if value is not None and value not in {LOCAL_EMBEDDINGS_MODEL, "all-MiniLM-L6-v2"}:
            raise ValueError(f"the local provider runs {LOCAL_EMBEDDINGS_MODEL} only")
        return LOCAL_EMBEDDINGS_MODEL

    @field_validator("embeddings_api_key")
    @classmethod
    def _embeddings_api_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("embeddings_provider") is not EmbeddingsProvider.OPENAI:
            if value is not None:
                raise ValueError("only used when JEEX_EMBEDDINGS_PROVIDER is openai")
            return None
        if value is None and info.data.get("embeddings_base_url") is None:
            raise ValueError(
                "required for OpenAI itself (set JEEX_EMBEDDINGS_BASE_URL for another server)"
            )
        return value

    @field_validator("embeddings_dimensions")
    @classmethod
    def _embeddings_dimensions(cls, value: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("embeddings_provider") is EmbeddingsProvider.OPENAI:
            if value is None:
                raise ValueError(
                    "required when JEEX_EMBEDDINGS_PROVIDER is openai: the size of the "
                    "model's vectors (e.g. 1536 for text-embedding-3-small)"
                )
            return value
        if value is not None and value != LOCAL_EMBEDDINGS_DIMENSIONS:
            raise ValueError(f"the local model's vectors have {LOCAL_EMBEDDINGS_DIMENSIONS}")
        return LOCAL_EMBEDDINGS_DIMENSIONS

    @field_validator("memory_chunk_overlap_chars")
    @classmethod
    def _overlap_below_half_a_chunk(cls, value: int, info: ValidationInfo) -> int:
        # Overlap of half a chunk or more would make every chunk mostly a repeat.
        maximum = info.data.get("memory_chunk_max_chars")
        if maximum is not None and value * 2 >= maximum:
            raise ValueError("must be less than half of JEEX_MEMORY_CHUNK_MAX_CHARS")
        return value

    @field_validator("cors_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        # An origin is compared byte for byte with the browser's Origin header: a path, a
        # trailing slash or a wildcard would silently match nothing (or everything).
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin such as https://app.example.com "
                    "(scheme and host, optional port, no path, no wildcard)"
                )
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        # uvicorn would take a typo for a literal host name and silently trust nobody (or,
        # beside a `*`, everybody): each entry must be an address or a network.
        if "*" in value and value != ["*"]:
            raise ValueError("`*` (trust every peer) stands alone")
        for entry in value:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("auth_oidc_providers")
    @classmethod
    def _provider_names_are_slugs(
        cls, value: dict[str, OidcProviderConfig]
    ) -> dict[str, OidcProviderConfig]:
        for name in value:
            if not _PROVIDER_NAME.fullmatch(name) or name in BUILT_IN_PROVIDERS:
                raise ValueError(
                    f"provider name {name!r} must be lower-case letters, digits or '-' and not "
                    f"one of {', '.join(BUILT_IN_PROVIDERS)}"
                )
        return value

    @model_validator(mode="after")
    def _providers_are_complete(self) -> "Settings":
        for provider, (client_id, secret) in self._built_in_credentials().items():
            if (client_id is None) != (secret is None):
                raise ValueError(
                    f"JEEX_AUTH_{provider.upper()}_CLIENT_ID and "
                    f"JEEX_AUTH_{provider.upper()}_CLIENT_SECRET must be set together"
                )
        if self.public_url is None and self.configured_providers:
            raise ValueError(
                "JEEX_PUBLIC_URL: required when a sign-in provider is configured (redirect URIs "
                "are built from it)"
            )
        return self

    def _built_in_credentials(self) -> dict[str, tuple[str | None, SecretStr | None]]:
        """The variables of each built-in provider, in BUILT_IN_PROVIDERS' order."""
        return {
            "x": (self.auth_x_client_id, self.auth_x_client_secret),
            "github": (self.auth_github_client_id, self.auth_github_client_secret),
            "google": (self.auth_google_client_id, self.auth_google_client_secret),
        }

    @property
    def llm_max_tokens(self) -> dict[LLMCallKind, int]:
        return {
            LLMCallKind.OPENING: self.llm_max_tokens_opening,
            LLMCallKind.INTENT: self.llm_max_tokens_intent,
            LLMCallKind.QUESTIONS: self.llm_max_tokens_questions,
            LLMCallKind.SECTION: self.llm_max_tokens_section,
            LLMCallKind.INTEGRATION: self.llm_max_tokens_integration,
            LLMCallKind.CLOSING: self.llm_max_tokens_closing,
        }

    @property
    def llm_cancels_abandoned(self) -> bool:
        """OpenAI's and Anthropic's own APIs stop a generation whose client has gone; an
        OpenAI-compatible server (llama.cpp, Ollama, vLLM, a proxy) is not assumed to."""
        if self.llm_cancels_abandoned_requests is not None:
            return self.llm_cancels_abandoned_requests
        return self.llm_base_url is None

    @property
    def configured_providers(self) -> list[str]:
        return list(self.auth.providers) + list(self.auth_oidc_providers)

    @property
    def embeddings_size(self) -> int:
        """The vector size of the configured model (its validator always fills it in)."""
        assert self.embeddings_dimensions is not None
        return self.embeddings_dimensions

    @property
    def exports_path(self) -> Path:
        return self.export_dir if self.export_dir is not None else self.data_dir / "exports"

    # --- The groups. Cached: the settings are frozen, so each is built once.

    @cached_property
    def database(self) -> DatabaseSettings:
        return DatabaseSettings(
            url=self.database_url,
            pool_size=self.database_pool_size,
            max_overflow=self.database_max_overflow,
            connect_timeout_seconds=self.database_connect_timeout_seconds,
            startup_timeout_seconds=self.database_startup_timeout_seconds,
            statement_timeout_ms=self.database_statement_timeout_ms,
        )

    @cached_property
    def redis(self) -> RedisSettings:
        return RedisSettings(
            url=None if self.redis_url is None else str(self.redis_url),
            timeout_seconds=self.redis_timeout_seconds,
        )

    @cached_property
    def qdrant(self) -> QdrantSettings:
        return QdrantSettings(url=self.qdrant_url, api_key=self.qdrant_api_key)

    @cached_property
    def llm(self) -> LLMSettings:
        return LLMSettings(
            provider=self.llm_provider,
            base_url=self.llm_base_url,
            model=self.llm_model,
            agent_models=MappingProxyType(dict(self.llm_agent_models)),
            api_key=self.llm_api_key,
            output_mode=self.llm_output_mode,
            output_retries=self.llm_output_retries,
            max_tokens=MappingProxyType(self.llm_max_tokens),
            connect_timeout_seconds=self.llm_connect_timeout_seconds,
            read_timeout_seconds=self.llm_read_timeout_seconds,
            stream_stall_seconds=self.llm_stream_stall_seconds,
            cancels_abandoned_requests=self.llm_cancels_abandoned,
            max_attempts=self.llm_max_attempts,
            backoff_initial_seconds=self.llm_backoff_initial_seconds,
            backoff_max_seconds=self.llm_backoff_max_seconds,
            retry_after_max_seconds=self.llm_retry_after_max_seconds,
            breaker_failure_threshold=self.llm_breaker_failure_threshold,
            breaker_reset_seconds=self.llm_breaker_reset_seconds,
            project_token_budget=self.llm_project_token_budget,
            call_token_limit=self.llm_call_token_limit,
            user_concurrency=self.llm_user_concurrency,
            lease_seconds=self.llm_lease_seconds,
            user_token_budget=self.llm_user_token_budget,
            budget_window_seconds=self.llm_budget_window_seconds,
            debug_content=self.llm_debug_content,
        )

    @cached_property
    def embeddings(self) -> EmbeddingsSettings:
        assert self.embeddings_model is not None  # filled in by its validator
        return EmbeddingsSettings(
            provider=self.embeddings_provider,
            base_url=self.embeddings_base_url,
            model=self.embeddings_model,
            api_key=self.embeddings_api_key,
            dimensions=self.embeddings_size,
            batch_size=self.embeddings_batch_size,
            local_threads=self.embeddings_local_threads,
            timeout_seconds=self.embeddings_timeout_seconds,
            max_attempts=self.embeddings_max_attempts,
        )

    @cached_property
    def memory(self) -> MemorySettings:
        return MemorySettings(
            embeddings=self.embeddings,
            collection=self.memory_collection,
            chunk_max_chars=self.memory_chunk_max_chars,
            chunk_overlap_chars=self.memory_chunk_overlap_chars,
            search_limit=self.memory_search_limit,
        )

    @cached_property
    def auth(self) -> AuthSettings:
        providers = {
            name: ProviderCredentials(client_id=client_id, client_secret=secret)
            for name, (client_id, secret) in self._built_in_credentials().items()
            if client_id and secret is not None
        }
        return AuthSettings(
            public_url=self.public_url,
            jwt_issuer=self.jwt_issuer,
            jwt_audience=self.jwt_audience,
            retired_public_keys=tuple(self.jwt_retired_public_keys),
            access_token_ttl_seconds=self.access_token_ttl_seconds,
            refresh_token_ttl_days=self.refresh_token_ttl_days,
            max_personal_tokens_per_user=self.max_personal_tokens_per_user,
            invitation_ttl_days=self.invitation_ttl_days,
            login_state_ttl_seconds=self.login_state_ttl_seconds,
            local_sign_in=self.environment is Environment.DEVELOPMENT,
            sign_in_code_ttl_seconds=self.sign_in_code_ttl_seconds,
            providers=MappingProxyType(providers),
            oidc_providers=MappingProxyType(dict(self.auth_oidc_providers)),
        )

    @cached_property
    def rate_limits(self) -> RateLimitSettings:
        return RateLimitSettings(
            window_seconds=self.rate_limit_window_seconds,
            auth_per_window=self.rate_limit_auth_per_window,
            user_per_window=self.rate_limit_user_per_window,
            project_per_window=self.rate_limit_project_per_window,
        )

    @cached_property
    def conversation(self) -> ConversationSettings:
        return ConversationSettings(
            max_turns_per_stage=self.conversation_max_turns_per_stage,
            lease_seconds=self.conversation_lease_seconds,
            max_attempts=self.conversation_max_attempts,
        )

    @cached_property
    def worker(self) -> WorkerSettings:
        return WorkerSettings(
            in_process=self.worker_in_process,
            concurrency=self.worker_concurrency,
            job_timeout_seconds=self.worker_job_timeout_seconds,
            heartbeat_seconds=self.worker_heartbeat_seconds,
            runs_per_turn=self.worker_runs_per_turn,
            memory_concurrency=self.worker_memory_concurrency,
            export_concurrency=self.worker_export_concurrency,
        )

    @cached_property
    def quotas(self) -> QuotaSettings:
        return QuotaSettings(
            projects_per_user=self.quota_projects_per_user,
            queued_runs_per_project=self.quota_queued_runs_per_project,
            queued_runs_per_user=self.quota_queued_runs_per_user,
        )

    @cached_property
    def exports(self) -> ExportSettings:
        return ExportSettings(
            directory=self.exports_path,
            ttl_seconds=self.export_ttl_seconds,
            max_attempts=self.export_max_attempts,
            cleanup_cron=self.export_cleanup_cron,
        )

    @cached_property
    def events(self) -> EventsSettings:
        return EventsSettings(
            stream_maxlen=self.events_stream_maxlen,
            retention_seconds=self.events_retention_seconds,
            ping_seconds=self.events_ping_seconds,
            send_timeout_seconds=self.events_send_timeout_seconds,
            max_streams=self.events_max_streams,
            stream_max_seconds=self.events_stream_max_seconds,
            ticket_ttl_seconds=self.events_ticket_ttl_seconds,
            shutdown_grace_seconds=self.events_shutdown_grace_seconds,
            delta_interval_ms=self.events_delta_interval_ms,
            delta_max_chars=self.events_delta_max_chars,
            max_streams_per_user=self.events_max_streams_per_user,
            access_recheck_seconds=self.events_access_recheck_seconds,
        )

    @cached_property
    def http(self) -> HttpSettings:
        return HttpSettings(
            max_request_body_bytes=self.max_request_body_bytes,
            cors_origins=tuple(self.cors_origins),
            forwarded_allow_ips=tuple(self.forwarded_allow_ips),
        )

    @cached_property
    def logging(self) -> LoggingSettings:
        if self.log_format is not None:
            return LoggingSettings(level=self.log_level, format=self.log_format)
        chosen = LogFormat.JSON if self.is_production else LogFormat.CONSOLE
        return LoggingSettings(level=self.log_level, format=chosen)

    @cached_property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


class SettingsError(Exception):
    """Start-up configuration is invalid; the message names every offending variable."""


def describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        if item["loc"]:
            problems.append(f"{ENV_PREFIX}{str(item['loc'][0]).upper()}: {item['msg']}")
        else:
            problems.append(str(item["msg"]).removeprefix("Value error, "))
    return "invalid configuration: " + "; ".join(problems)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
