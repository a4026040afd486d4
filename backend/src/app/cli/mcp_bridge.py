"""`jeex-idea mcp` from start to finish: check the token, connect to ``/mcp``, serve stdio.

Why a bridge to the running server rather than a second server reading the database itself:
the embedded parts belong to `serve` (local Qdrant locks its folder to one process, so a second
process could not search the memory), and answering at ``/mcp`` keeps one implementation of
the access checks. Each stdio request becomes one HTTP request there, authenticated afresh, so
a token revoked while an agent is connected stops working on the agent's next request.
"""

import os
from importlib.metadata import version as package_version
from typing import Any

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
)

from app.cli.chat.main import TOKEN_VARIABLE, server_url
from app.cli.common import command_settings, errors, fail, run_cli_step

_TOKEN_HINT = "create one with `jeex-idea tokens create --email you@example.com`"
_CHECK_TIMEOUT_SECONDS = 10.0
# A search may wait for the embeddings model to load; nothing else takes long.
_MCP_TIMEOUT = httpx2.Timeout(30.0, read=120.0)


class BridgeError(Exception):
    """Why the bridge cannot start, in a sentence for the person who set the agent up."""


def run_bridge(*, url: str | None) -> None:
    def step() -> None:
        settings = command_settings()
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise fail(f"set {TOKEN_VARIABLE} to a personal access token ({_TOKEN_HINT})")
        server = server_url(settings, url)
        try:
            anyio.run(bridge, server, token)
        except BridgeError as error:
            raise fail(str(error)) from None

    run_cli_step(step)


async def bridge(server: str, token: str) -> None:
    await check_token(server, token)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=_MCP_TIMEOUT) as http,
        # No response cache: every answer comes from the server, as it stands now.
        Client(streamable_http_client(f"{server}/mcp", http_client=http), cache=None) as upstream,
    ):
        errors.print(f"jeex-idea mcp: serving {server}/mcp on stdio", highlight=False)
        relay = forwarding_server(upstream)
        async with stdio_server() as (read_stream, write_stream):
            await relay.run(read_stream, write_stream, relay.create_initialization_options())


async def check_token(server: str, token: str) -> None:
    """Refuse to start with a token the server refuses: an agent's MCP client shows a server
    that exits at once with its stderr, which says why; one that fails every call does not."""
    try:
        async with httpx.AsyncClient(timeout=_CHECK_TIMEOUT_SECONDS) as http:
            response = await http.get(
                f"{server}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.TransportError:
        raise BridgeError(
            f"cannot reach {server}: start `jeex-idea serve`, or pass --url of the server"
        ) from None
    if response.status_code == httpx.codes.UNAUTHORIZED:
        raise BridgeError(
            f"{server} refused {TOKEN_VARIABLE}: it is revoked, expired or not a token of this "
            f"server; {_TOKEN_HINT}"
        )
    if response.status_code != httpx.codes.OK:
        raise BridgeError(f"{server} answered {response.status_code} to the token check")


def forwarding_server(upstream: Client) -> Server[Any]:
    """An MCP server whose every answer is the upstream server's answer to the same request
    (its errors included, which the SDK passes on with their code and message)."""

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return await upstream.list_resources(cursor=params.cursor if params else None)

    async def list_resource_templates(
        ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListResourceTemplatesResult:
        return await upstream.list_resource_templates(cursor=params.cursor if params else None)

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        return await upstream.read_resource(str(params.uri))

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return await upstream.list_tools(cursor=params.cursor if params else None)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams
    ) -> CallToolResult:
        return await upstream.call_tool(params.name, params.arguments)

    return Server(
        "jeex-idea",
        version=package_version("jeex-idea"),
        title="JEEX Idea",
        instructions=upstream.instructions,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
