"""The doctor's report: one row per part, and how to fix what failed."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from rich.markup import escape
from rich.table import Table

from app.cli.common import NO_MODEL_HINT, console


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_CONFIGURED = "not configured"


_SHORTEST_HIDDEN = 4
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


def ok(part: str, detail: str) -> Row:
    return Row(part, Status.OK, detail)


def failed(part: str, detail: str, fix: str) -> Row:
    return Row(part, Status.FAILED, detail, fix)


def skipped(part: str, reason: str) -> Row:
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

    def remember_password(self, url: str | None) -> None:
        password = urlsplit(url).password if url is not None else None
        if password:
            self.secrets.add(password)

    def hide(self, text: str) -> str:
        """``text`` with every secret masked. A safety net: URLs are shown redacted and keys
        never, so what this catches is a secret quoted in an error message. Secrets shorter
        than a few characters are left, or every such letter in the report would go."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= _SHORTEST_HIDDEN:
                text = text.replace(secret, "***")
        return text


async def guarded(part: str, check: Callable[[], Awaitable[Row]]) -> Row:
    """A check that breaks in a way nobody foresaw is one failed row, not a traceback that
    would hide every other part's answer."""
    try:
        return await check()
    except Exception as error:
        return _unexpected(part, error)


async def guarded_rows(part: str, check: Callable[[], Awaitable[list[Row]]]) -> list[Row]:
    """:func:`guarded` for a check that answers with several rows."""
    try:
        return await check()
    except Exception as error:
        return [_unexpected(part, error)]


def _unexpected(part: str, error: Exception) -> Row:
    return failed(
        part,
        f"unexpected {type(error).__name__}: {error}",
        "run again with JEEX_LOG_LEVEL=DEBUG for details; this is worth reporting as a bug",
    )


def print_report(report: Report) -> None:
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
        console.print(NO_MODEL_HINT, highlight=False, soft_wrap=True)
    failed = len(report.failed)
    if failed:
        console.print(f"[bold red]{failed} of {len(report.rows)} checks failed[/]", highlight=False)
    elif any(row.status is Status.NOT_CONFIGURED for row in report.rows):
        console.print("[green]every part works[/]; no model, so agents will not answer")
    else:
        console.print("[green]every check passed[/]", highlight=False)
