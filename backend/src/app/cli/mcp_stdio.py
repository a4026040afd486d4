"""`jeex-idea mcp`: the MCP server on stdin/stdout for a local coding agent. Only the command's
signature lives here, so that `jeex-idea --help` does not import the MCP SDK."""

from typing import Annotated

import typer


def mcp(
    url: Annotated[
        str | None,
        typer.Option(help="The server, e.g. http://127.0.0.1:8000; default: the running serve's."),
    ] = None,
) -> None:
    """Serve your projects to a local coding agent over MCP on stdio, read-only.

    A bridge to the /mcp endpoint of a running `jeex-idea serve` (or --url): every request is
    answered there, with the same access checks. Signs in with JEEX_TOKEN, a personal access
    token (`jeex-idea tokens create --email you@example.com`). Stdout carries the protocol
    only; messages go to stderr."""
    from app.cli.mcp_bridge import run_bridge

    run_bridge(url=url)
