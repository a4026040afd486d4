"""What every benchmark here shares: embedded servers in a temporary directory, a seeded user,
the API as a production replica pinned to CPU 0, load pinned to CPU 1, and a few statistics.

Nothing here is a test double: PostgreSQL and Valkey come from the project's own wheels, the
data is written by the service's own repositories, and the API process is the one a real
replica runs (``app.main:app_from_environment`` under uvicorn with uvloop and httptools).
"""

import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from uuid import UUID

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BACKEND = ROOT / "backend"
SERVER_CPU, LOAD_CPU = 0, 1
FULL_APP = "app.main:app_from_environment"


# --- processes ---------------------------------------------------------------------------------


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2


def pin(pid: int, cpu: int) -> bool:
    if not can_pin():
        return False
    os.sched_setaffinity(pid, {cpu})
    return True


def pinned_command(command: list[str], cpu: int) -> list[str]:
    """``command`` under ``taskset`` so that it and every thread it starts stay on ``cpu``."""
    return ["taskset", "-c", str(cpu), *command] if can_pin() else command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> float:
    """Seconds until ``url`` answered 200; raises when the process died or took too long."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the process behind {url} exited during start-up")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in time")


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 30) -> None:
    """SIGTERM and wait, so that the process writes what it collected; SIGKILL as a last resort."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- embedded servers and seeded data ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stack:
    """Embedded PostgreSQL and Valkey for one benchmark run."""

    root: Path
    database_url: str  # SQLAlchemy form (postgresql+asyncpg://…)
    redis_url: str
    redis_pid: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def plain_database_url(self) -> str:
        """The same database as a libpq URL, the form JEEX_DATABASE_URL and asyncpg take."""
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def embedded_stack(prefix: str) -> Iterator[Stack]:
    from app.core import migrations
    from app.core.embedded.postgres import EmbeddedPostgres
    from app.core.embedded.redis import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        postgres, valkey = EmbeddedPostgres(root / "pg"), EmbeddedRedis(root / "redis")
        postgres.start()
        try:
            valkey.start()
            try:
                database_url = postgres.url()
                asyncio.run(migrations.ensure_database_exists(database_url, connect_timeout=10))
                migrations.upgrade(database_url)
                assert valkey.pid is not None
                yield Stack(root, database_url, valkey.url, valkey.pid)
            finally:
                valkey.stop()
        finally:
            postgres.stop()


@dataclass(frozen=True, slots=True)
class Seeded:
    user_id: UUID
    project_id: UUID
    project_ids: list[UUID] = field(default_factory=list)


async def seed(
    stack: Stack, *, projects: int = 1, document_chars: int = 0, email: str = "bench@example.com"
) -> Seeded:
    """A user owning ``projects`` projects, written by the service's own repositories; with
    ``document_chars`` the first project gets an ``idea`` document of about that size."""
    from app.core.config import Settings
    from app.core.db import create_engine, create_session_factory
    from app.documents import service as document_service
    from app.projects import repository as project_repository
    from app.users import repository as user_repository

    engine = create_engine(Settings(data_dir=stack.data_dir), stack.database_url)
    try:
        async with create_session_factory(engine)() as session:
            user = await user_repository.add(session, email=email, name="bench")
            made = [
                await project_repository.add_project(
                    session, name=f"bench project {number}", description=None, owner_id=user.id
                )
                for number in range(projects)
            ]
            if document_chars:
                # Imported here: the protocol benchmark seeds an older tree too (without a
                # document), whose modules lived elsewhere.
                from app.projects.scoping import AccessibleProjectID
                from app.projects.stages import DocumentType

                await document_service.append_version(
                    session,
                    AccessibleProjectID(made[0].id),
                    DocumentType.IDEA,
                    expected_version=0,
                    content=sample_markdown(document_chars),
                    reason="benchmark seed",
                    author_agent="product_manager",
                )
            await session.commit()
    finally:
        await engine.dispose()
    return Seeded(user.id, made[0].id, [project.id for project in made])


def sample_markdown(chars: int) -> str:
    paragraph = (
        "Small bakeries sell the day's bread at night to people nearby; the app lists what is "
        "left, takes the order and the payment, and tells the courier where to go. "
    )
    parts = ["# Idea\n\n<!-- section:summary -->\n"]
    while sum(map(len, parts)) < chars:
        parts.append(f"\n## Part {len(parts)}\n\n{paragraph * 3}\n")
    return "".join(parts)[:chars]


def access_token(stack: Stack, user_id: UUID) -> str:
    """A fresh access token, signed with the key the API process will load from the data dir."""
    from app.core.config import Settings
    from app.core.keys import load_signing_key
    from app.core.security import AccessTokens

    settings = Settings(data_dir=stack.data_dir)
    return AccessTokens(settings.auth, load_signing_key(settings)).issue(user_id)


def signing_key_pem(stack: Stack) -> str:
    """The data dir's signing key (made on first use, as ``serve`` does), handed to the
    production replica the way a real one gets it: in JEEX_JWT_PRIVATE_KEY."""
    from app.core.config import Settings
    from app.core.keys import SIGNING_KEY_FILE, load_signing_key

    load_signing_key(Settings(data_dir=stack.data_dir))
    return (stack.data_dir / SIGNING_KEY_FILE).read_text()


# --- the API process ---------------------------------------------------------------------------

# Rate limits stay on (every request still runs the Lua counter in Valkey), set high enough that
# one benchmark user is never refused.
HIGH_RATE_LIMIT = 100_000_000


def api_environment(stack: Stack, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("JEEX_")}
    env = {name: value for name, value in env.items() if not name.startswith("OTEL_")}
    env.update(
        {
            "JEEX_ENVIRONMENT": "production",
            "JEEX_DATA_DIR": str(stack.data_dir),
            "JEEX_DATABASE_URL": stack.plain_database_url,
            "JEEX_REDIS_URL": stack.redis_url,
            "JEEX_QDRANT_URL": "http://127.0.0.1:1",  # never reached by the HTTP benchmarks
            "JEEX_JWT_PRIVATE_KEY": signing_key_pem(stack),
            "JEEX_LOG_LEVEL": "INFO",
            "JEEX_LOG_FORMAT": "json",
            "JEEX_RATE_LIMIT_USER_PER_WINDOW": str(HIGH_RATE_LIMIT),
            "JEEX_RATE_LIMIT_PROJECT_PER_WINDOW": str(HIGH_RATE_LIMIT),
            "JEEX_EVENTS_MAX_STREAMS": "5000",
            # Every benchmark stream belongs to the one benchmark user.
            "JEEX_EVENTS_MAX_STREAMS_PER_USER": "5000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@dataclass
class ApiProcess:
    """One server started by ``bench/serve_api.py``; ``probes`` holds what it recorded once
    it has stopped."""

    process: subprocess.Popen[bytes]
    url: str
    probe_file: Path
    log_file: Path
    probes: dict[str, list[list[float]]] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def stop(self) -> dict[str, list[list[float]]]:
        stop(self.process)
        if self.probe_file.exists():
            self.probes = json.loads(self.probe_file.read_text())
        return self.probes


def start_api(
    stack: Stack,
    *,
    factory: str = FULL_APP,
    env: Mapping[str, str] | None = None,
    probes: str = "lag",
    name: str = "api",
) -> ApiProcess:
    """The API (or a baseline app) in a process of its own, pinned to the server CPU."""
    port = free_port()
    probe_file = stack.root / f"{name}-{port}.probes.json"
    log_file = stack.root / f"{name}-{port}.log"
    command = [
        sys.executable,
        str(BENCH / "serve_api.py"),
        "--factory",
        factory,
        "--port",
        str(port),
        "--probes",
        probes,
        "--probe-file",
        str(probe_file),
    ]
    # The app's own structured log goes to a file, as a container's stdout would be collected.
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            pinned_command(command, SERVER_CPU),
            env=dict(env or api_environment(stack)),
            cwd=BACKEND,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/health/live", process)
    except RuntimeError as error:
        stop(process)
        raise RuntimeError(
            f"{name} did not start; its log: {log_file.read_text()[-2000:]}"
        ) from error
    return ApiProcess(process, url, probe_file, log_file)


# --- statistics and facts ----------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def machine_facts() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {
        name: _version(name)
        for name in (
            "fastapi",
            "starlette",
            "uvicorn",
            "uvloop",
            "httptools",
            "sqlalchemy",
            "asyncpg",
            "redis",
            "pydantic",
            "pydantic-ai-slim",
            "opentelemetry-sdk",
            "opentelemetry-instrumentation-fastapi",
            "sse-starlette",
            "structlog",
        )
    }
    return {
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "kernel": f"Linux {platform.release()}",
        "python": platform.python_version(),
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": "yes" if _git("status", "--porcelain") else "no",
        "wrk": _first_line(["wrk", "--version"]),
        "packages": ", ".join(f"{name} {version}" for name, version in versions.items()),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _git(*arguments: str) -> str:
    done = subprocess.run(
        ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "absent"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""
    )
