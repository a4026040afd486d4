"""What every command shares: its consoles, readable failures, settings and event loop."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from app.core.config import Settings, SettingsError, load_settings
from app.core.database_setup import DatabaseUnavailableError, SchemaOutOfDateError
from app.core.errors import AppError
from app.core.logging import configure_logging

console = Console()
errors = Console(stderr=True)

# What serve and doctor say when no model is configured.
NO_MODEL_HINT = (
    "no model configured: agents will answer llm_not_configured. Set JEEX_LLM_MODEL (and "
    "JEEX_LLM_API_KEY for a hosted provider, JEEX_LLM_BASE_URL for a local or compatible "
    'server, JEEX_LLM_PROVIDER=anthropic for Claude); the README\'s "Connect a model" has '
    "set-ups."
)

_EXPECTED_FAILURES = (
    SettingsError,
    DatabaseUnavailableError,
    SchemaOutOfDateError,
    AppError,
    NotImplementedError,
)


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def run_cli_step(step: Callable[[], None]) -> None:
    """Expected failures become one readable line and exit code 1, never a traceback."""
    try:
        step()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise fail(f"invalid input: {problems}") from None
    except _EXPECTED_FAILURES as error:
        message = error.message if isinstance(error, AppError) else str(error)
        raise fail(message) from None


def command_settings(*, quiet: bool = True) -> Settings:
    """The settings, with logging set up. A one-shot command is quiet (warnings and errors
    only, so its own output is what a person reads) unless JEEX_LOG_LEVEL asks for more."""
    settings = load_settings()
    level = settings.logging.level
    if quiet and "log_level" not in settings.model_fields_set:
        level = "WARNING"
    configure_logging(level, settings.logging.format)
    return settings


T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)
