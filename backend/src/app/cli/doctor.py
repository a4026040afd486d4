"""``jeex-idea doctor``: every part checked in serve's order, one row each, and how to fix it.

It reads serve's settings and starts what serve would (the embedded PostgreSQL and Valkey, the
local Qdrant folder) for as long as it runs, and leaves nothing behind that serve would not have
made itself: the schema is read, never migrated, and the model's test call is made for a project
and a user that do not exist, whose budget keys are deleted afterwards. A ``serve`` already
running on the data dir owns its embedded Valkey and Qdrant folder (starting a second Valkey on
the same files would stop the first), so those two are reported from that serve's own readiness
check.
"""

import asyncio
from contextlib import ExitStack

import typer

from app.cli.common import command_settings, run
from app.cli.doctor_model import model_rows
from app.cli.doctor_parts import (
    data_dir_row,
    database_row,
    embeddings_row,
    no_redis_reason,
    qdrant_check,
    redis_check,
    served_readiness,
)
from app.cli.doctor_report import (
    Report,
    Status,
    failed,
    guarded,
    guarded_rows,
    ok,
    print_report,
    skipped,
)
from app.core import serve_address
from app.core.config import Settings, SettingsError

_PARTS = ("data dir", "database", "redis", "qdrant", "embeddings", "model")


def doctor() -> None:
    """Check every part and the model, and say how to fix what does not work.

    Loads the embeddings model and makes one small structured call to each configured model in
    JEEX_LLM_OUTPUT_MODE. Exit code 1 when a check failed.
    """
    report = Report()
    settings = _load_settings(report)
    if settings is None:
        for part in _PARTS:
            report.add(skipped(part, "the settings did not load"))
    else:
        _collect_secrets(settings, report)
        # Closing the stack stops the embedded servers this run started, whatever happened.
        with ExitStack() as stack:
            run(_diagnose(settings, report, stack))
    print_report(report)
    if report.failed:
        raise typer.Exit(code=1)


def _load_settings(report: Report) -> Settings | None:
    from app.llm.routing import resolve_routes

    try:
        settings = command_settings()
        resolve_routes(settings.llm)  # the per-agent models' names are checked here
    except SettingsError as error:
        report.add(
            failed(
                "settings",
                str(error),
                "correct the JEEX_ variable(s) named above (the README lists every setting)",
            )
        )
        return None
    report.add(ok("settings", f"loaded; environment {settings.environment.value}"))
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
        report.remember_password(url)


async def _diagnose(settings: Settings, report: Report, stack: ExitStack) -> None:
    # The model loads on its own thread while the servers start: the whole run then takes
    # about as long as the slower of the two, like serve's start-up.
    embeddings = asyncio.create_task(guarded("embeddings", lambda: embeddings_row(settings)))
    data_dir = await guarded("data dir", lambda: asyncio.to_thread(data_dir_row, settings))
    report.add(data_dir)
    usable = data_dir.status is Status.OK
    embedded_only = settings.redis_url is None or settings.qdrant_url is None
    serve = serve_address.running_serve(settings.data_dir) if usable and embedded_only else None
    served = await served_readiness(serve) if serve is not None else None
    report.add(await guarded("database", lambda: database_row(settings, stack, usable=usable)))
    redis_row, redis_url = await redis_check(settings, report, stack, usable, serve, served)
    report.add(redis_row)
    report.add(await guarded("qdrant", lambda: qdrant_check(settings, usable, serve, served)))
    report.add(await embeddings)
    no_redis = no_redis_reason(redis_row, serve)
    for row in await guarded_rows("model", lambda: model_rows(settings, redis_url, no_redis)):
        report.add(row)
