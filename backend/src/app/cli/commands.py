"""The ``jeex-idea`` command line."""

import gc
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer
import uvicorn
from rich.table import Table

from app.cli import chat, doctor, mcp_stdio
from app.cli.common import (
    NO_MODEL_HINT,
    command_settings,
    console,
    errors,
    fail,
    run,
    run_cli_step,
)
from app.cli.local_sign_in import mint_sign_in_code
from app.core import migrations, serve_address
from app.core.config import LLMSettings, Settings
from app.core.database_setup import (
    SchemaPolicy,
    describe_database,
    prepare_database,
)
from app.core.infrastructure import (
    Endpoints,
    database_endpoint,
    prepare_data_dir,
    redact_url,
    redis_endpoint,
)
from app.core.keys import load_signing_key
from app.llm import probe as llm_probe

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.auth.schemas import PersonalTokenCreate, PersonalTokenCreated
    from app.users.schemas import UserCreate, UserRead

# Domain modules pull in every client library (seconds of imports); each command imports what
# it needs, so `serve` fails fast on a bad setting or an unreachable database.

cli = typer.Typer(
    name="jeex-idea",
    help="JEEX Idea: turn a raw idea into a versioned package of documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_cli = typer.Typer(help="Users for CLI and API use.", no_args_is_help=True)
tokens_cli = typer.Typer(help="Personal access tokens.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")
cli.command("doctor")(doctor.doctor)


def _stop_on_sigterm() -> None:
    # Until uvicorn installs its own handlers, SIGTERM would kill the process outright and
    # leave the embedded servers running; turn it into the same clean path as Ctrl-C.
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Run the API with a worker; parts without a configured URL run embedded."""
    _stop_on_sigterm()

    def step() -> None:
        settings = command_settings(quiet=False)
        # Before the key, the servers, Qdrant's files and the exports touch the data dir.
        prepare_data_dir(settings)
        load_signing_key(settings)
        with database_endpoint(settings) as database:
            run(
                prepare_database(
                    settings, database[0], embedded=database[1], schema=SchemaPolicy.MIGRATE
                )
            )
            with redis_endpoint(settings) as redis:
                # Imported only once the parts are up: a start-up that fails on them should not
                # first pay for importing every route and client library.
                from app.main import create_app

                endpoints = Endpoints.assemble(settings, database=database, redis=redis)
                app = create_app(settings, endpoints)
                _print_serve_summary(settings, endpoints, host, port)
                if settings.auth.local_sign_in:
                    code = run(mint_sign_in_code(settings, database[0], email=None))
                    _print_sign_in_link(host, port, code)
                    console.print(NEXT_STEPS_HINT, highlight=False, soft_wrap=True)
                embedded_redis_port = urlsplit(redis[0]).port if redis[1] else None
                with serve_address.published(
                    settings.data_dir, host, port, redis_port=embedded_redis_port
                ):
                    uvicorn.Server(serve_config(app, settings, host, port)).run()

    _run_until_stopped(step)


def _run_until_stopped(step: Callable[[], None]) -> None:
    try:
        run_cli_step(step)
    except KeyboardInterrupt:
        errors.print("stopped")
    finally:
        # The process ends here. The app gave what start-up froze back to the collector, and
        # the interpreter's last full collection walked all of it (seconds, freeing nothing
        # the exit does not); frozen, it is skipped.
        gc.freeze()


def serve_config(app: "FastAPI", settings: Settings, host: str, port: int) -> uvicorn.Config:
    """How `serve` runs uvicorn. Forwarding headers are believed only from the proxies
    JEEX_FORWARDED_ALLOW_IPS names: uvicorn's own default trusts loopback, so any local client
    could pick the address the per-IP sign-in limit counts, or claim https."""
    trusted = list(settings.http.forwarded_allow_ips)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        # Event streams end on shutdown by themselves (JEEX_EVENTS_SHUTDOWN_GRACE_SECONDS);
        # this bounds any other request, so that a stop takes a few seconds at most.
        timeout_graceful_shutdown=_REQUESTS_SHUTDOWN_GRACE_SECONDS,
    )


_REQUESTS_SHUTDOWN_GRACE_SECONDS = 3


def _print_serve_summary(settings: Settings, endpoints: Endpoints, host: str, port: int) -> None:
    table = Table(title="JEEX Idea", show_header=True, header_style="bold")
    table.add_column("part")
    table.add_column("mode")
    table.add_column("where")
    table.add_row(
        "database",
        "embedded" if "database" in endpoints.embedded else "external",
        describe_database(endpoints.database_url),
    )
    table.add_row(
        "redis",
        "embedded" if "redis" in endpoints.embedded else "external",
        redact_url(endpoints.redis_url),
    )
    qdrant_where = (
        str(endpoints.qdrant_path)
        if endpoints.qdrant_path
        else redact_url(str(endpoints.qdrant_url))
    )
    table.add_row(
        "qdrant", "embedded" if "qdrant" in endpoints.embedded else "external", qdrant_where
    )
    table.add_row("model", *_model_summary(settings.llm))
    console.print(table)
    if not llm_probe.is_configured(settings.llm):
        console.print(NO_MODEL_HINT, highlight=False, soft_wrap=True)
    console.print(f"data dir: {settings.data_dir}", highlight=False, soft_wrap=True)
    console.print(f"listening on http://{host}:{port}", highlight=False, soft_wrap=True)


def _model_summary(llm: LLMSettings) -> tuple[str, str]:
    """The model row: provider and output mode, and which model at which address."""
    if not llm_probe.is_configured(llm):
        return llm.provider.value, "not configured"
    where = llm.base_url if llm.base_url is not None else "the provider's own API"
    models = llm.model if llm.model is not None else "per agent only"
    if llm.agent_models:
        models += f" (+{len(llm.agent_models)} per agent)"
    return f"{llm.provider.value}, {llm.output_mode.value} output", f"{models} at {where}"


@cli.command()
def openapi() -> None:
    """Print the API's OpenAPI JSON (sorted keys) without starting anything."""
    from app.main import openapi_document

    # Bytes, not print: the schema is UTF-8 whatever the terminal's locale says.
    sys.stdout.buffer.write(openapi_document().encode())
    sys.stdout.buffer.flush()


@cli.command("sign-in-link")
def sign_in_link(
    email: Annotated[
        str | None, typer.Option(help="An existing user's email; default: the local owner.")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="The server's address; default: the running serve's.")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="The server's port; default: the running serve's.", min=1, max=65535),
    ] = None,
) -> None:
    """Print a new single-use `Sign in:` link (development only), valid for 10 minutes."""

    def step() -> None:
        settings = command_settings()
        if not settings.auth.local_sign_in:
            raise fail(
                "local sign-in is available only in development; this server runs with "
                f"JEEX_ENVIRONMENT={settings.environment.value}"
            )
        where_host, where_port = _sign_in_address(settings, host, port)
        with database_endpoint(settings) as (url, embedded):
            run(
                prepare_database(settings, url, embedded=embedded, schema=SchemaPolicy.REQUIRE_HEAD)
            )
            code = run(mint_sign_in_code(settings, url, email=email))
        _print_sign_in_link(where_host, where_port, code)

    run_cli_step(step)


def _sign_in_address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    running = serve_address.running_serve(settings.data_dir)
    chosen_host = host if host is not None else (running.host if running else None)
    chosen_port = port if port is not None else (running.port if running else None)
    if chosen_host is None or chosen_port is None:
        raise fail(
            f"no running `jeex-idea serve` on {settings.data_dir}; pass --host and --port of "
            "the server the link is for"
        )
    return chosen_host, chosen_port


NEXT_STEPS_HINT = (
    "next: open the Sign in link in a browser and create a project, or chat in a terminal "
    "with `jeex-idea chat` (`./scripts/jeex chat` from the checkout); Ctrl-C stops the service"
)


def _print_sign_in_link(host: str, port: int, code: str) -> None:
    from app.auth.local_sign_in import sign_in_url

    # Plain print, one line: the link must not wrap, and it goes nowhere but the terminal.
    print(f"Sign in: {sign_in_url(host, port, code)}", flush=True)


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to a revision (default: head)."""

    def step() -> None:
        settings = command_settings()
        with database_endpoint(settings) as (url, embedded):
            run(prepare_database(settings, url, embedded=embedded, schema=SchemaPolicy.LEAVE))
            migrations.upgrade(url, revision)
            console.print(f"database at {run(migrations.current_revision(url))}")

    run_cli_step(step)


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
) -> None:
    """Revert migrations down to a revision."""

    def step() -> None:
        settings = command_settings()
        with database_endpoint(settings) as (url, embedded):
            run(prepare_database(settings, url, embedded=embedded, schema=SchemaPolicy.LEAVE))
            migrations.downgrade(url, revision)
            console.print(f"database at {run(migrations.current_revision(url)) or 'base'}")

    run_cli_step(step)


@db_cli.command("current")
def db_current() -> None:
    """Print the database's current revision and the code's head."""

    def step() -> None:
        settings = command_settings()
        with database_endpoint(settings) as (url, embedded):
            run(prepare_database(settings, url, embedded=embedded, schema=SchemaPolicy.LEAVE))
            current = run(migrations.current_revision(url))
            console.print(f"current: {current or 'base'}")
            console.print(f"head: {migrations.head_revision(url)}")

    run_cli_step(step)


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email address.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a user for CLI and API use (no sign-in provider needed)."""

    def step() -> None:
        from app.users.schemas import UserCreate

        settings = command_settings()
        data = UserCreate(email=email, name=name)
        with database_endpoint(settings) as (url, embedded):
            run(
                prepare_database(settings, url, embedded=embedded, schema=SchemaPolicy.REQUIRE_HEAD)
            )
            user = run(_create_user(settings, url, data))
        console.print(f"created user {user.email} ({user.id})", highlight=False)

    run_cli_step(step)


async def _create_user(settings: Settings, database_url: str, data: "UserCreate") -> "UserRead":
    from app.core.db import create_engine, create_session_factory
    from app.users import service as user_service

    engine = create_engine(settings, database_url)
    try:
        async with create_session_factory(engine)() as session:
            user = await user_service.create_user(session, data)
            await session.commit()
            return user
    finally:
        await engine.dispose()


@tokens_cli.command("create")
def tokens_create(
    email: Annotated[str, typer.Option(help="Whose token.")],
    name: Annotated[str | None, typer.Option(help="A label for the token.")] = None,
) -> None:
    """Create a personal access token and print it alone on the last line of stdout."""

    def step() -> None:
        from app.auth.schemas import PersonalTokenCreate

        settings = command_settings()
        data = PersonalTokenCreate(name=name or "cli")
        with database_endpoint(settings) as (url, embedded):
            run(
                prepare_database(settings, url, embedded=embedded, schema=SchemaPolicy.REQUIRE_HEAD)
            )
            created = run(_create_token(settings, url, email, data))
        errors.print(
            f"personal access token {created.name!r} for {email}; shown once, store it now:",
            highlight=False,
        )
        # Plain print: scripts read the last line of stdout, so no markup or wrapping.
        print(created.token)

    run_cli_step(step)


async def _create_token(
    settings: Settings, database_url: str, email: str, data: "PersonalTokenCreate"
) -> "PersonalTokenCreated":
    from app.auth import service as auth_service
    from app.core.db import create_engine, create_session_factory
    from app.users import service as user_service

    engine = create_engine(settings, database_url)
    try:
        async with create_session_factory(engine)() as session:
            user = await user_service.get_user_by_email(session, email)
            created = await auth_service.create_personal_token(
                session, user.id, data, max_active=settings.auth.max_personal_tokens_per_user
            )
            await session.commit()
            return created
    finally:
        await engine.dispose()


@cli.command()
def worker() -> None:
    """Run a job worker on its own, beside `serve` replicas (parts configured by URL)."""
    _stop_on_sigterm()

    def step() -> None:
        settings = command_settings(quiet=False)
        endpoints = Endpoints.from_settings(settings)
        run(_run_worker(settings, endpoints))

    _run_until_stopped(step)


async def _run_worker(settings: Settings, endpoints: Endpoints) -> None:
    from app.core.jobs import create_queue
    from app.llm.routing import resolve_routes
    from app.llm.service import LLMGateway
    from app.resources import Resources
    from app.worker import create_worker

    await prepare_database(
        settings, endpoints.database_url, embedded=False, schema=SchemaPolicy.REQUIRE_HEAD
    )
    resources = Resources.open(settings, endpoints)
    await resources.memory.start()
    gateway = LLMGateway(settings.llm, resources.redis, routes=resolve_routes(settings.llm))
    queue = create_queue(endpoints.redis_url)
    await queue.connect()
    job_worker = create_worker(queue, resources, gateway, owns_signals=True)
    errors.print("worker running; Ctrl-C or SIGTERM stops it", highlight=False)
    try:
        await job_worker.start()
    finally:
        await job_worker.stop()
        await queue.disconnect()
        await gateway.aclose()
        await resources.close()


cli.command("chat")(chat.chat)
cli.command("mcp")(mcp_stdio.mcp)


def main() -> None:
    cli()
