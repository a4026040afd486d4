"""``/mcp``: the MCP server over Streamable HTTP, behind the API's own bearer authentication.

Stateless and JSON-only: every POST is authenticated afresh (a revoked token stops working on
its next request, whatever MCP session the client thinks it holds), answered in its own
response, and leaves nothing open that a shutdown would have to wait for.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi.security.utils import get_authorization_scheme_param
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from app.auth.dependencies import caller_from_bearer
from app.auth.principals import Caller
from app.core.db import unit_of_work
from app.core.errors import AppError, error_response
from app.mcp.resources import McpResources
from app.mcp.server import CALL_SCOPE_KEY, McpCall, build_server

PATH = "/mcp"
# Methods of Streamable HTTP: POST a message; GET (a server stream) and DELETE (a session)
# are answered by the SDK, which has neither in stateless mode.
METHODS = ["GET", "POST", "DELETE"]
_RETRY_AFTER_SECONDS = "2"


class McpEndpoint:
    """The ASGI app at ``/mcp``. ``resources`` is read per request: the application's
    resources exist only while its lifespan runs (:meth:`running`)."""

    def __init__(self, resources: Callable[[], McpResources]) -> None:
        self._resources = resources
        self._sessions = StreamableHTTPSessionManager(
            app=build_server(), stateless=True, json_response=True
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the application's lifespan: the SDK's task group that serves the requests.

        Held by a task of its own: an anyio task group must be left by the task that entered
        it, and a lifespan may be entered and left by different tasks (a test's fixtures)."""
        started = asyncio.Event()
        stop = asyncio.Event()

        async def hold() -> None:
            async with self._sessions.run():
                started.set()
                await stop.wait()

        holder = asyncio.create_task(hold())
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({holder, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if holder.done():
            waiting.cancel()
            holder.result()  # raises what stopped it from starting
        try:
            yield
        finally:
            stop.set()
            await holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        resources = self._resources()
        bearer = _bearer(Request(scope))
        try:
            caller = await _authenticate(resources, bearer)
        except AppError as error:
            response = error_response(
                error.status_code, error.code, error.message, error.details, error.headers
            )
            await response(scope, receive, send)
            return
        except (RedisError, sa_exc.OperationalError, sa_exc.InterfaceError):
            # As the API answers an outage: 503 to retry, nothing of the driver's words.
            unavailable = error_response(
                503,
                "service_unavailable",
                "A service this request needs is unavailable; retry shortly.",
                headers={"Retry-After": _RETRY_AFTER_SECONDS},
            )
            await unavailable(scope, receive, send)
            return
        scope[CALL_SCOPE_KEY] = McpCall(resources=resources, caller=caller)
        await self._sessions.handle_request(scope, receive, send)


def _bearer(request: Request) -> str | None:
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    return credentials if scheme.lower() == "bearer" and credentials else None


async def _authenticate(resources: McpResources, bearer: str | None) -> Caller:
    # A unit of work of its own: authenticating may note the token's last use, which commits.
    async with unit_of_work(resources) as session:
        return await caller_from_bearer(session, resources, bearer)
