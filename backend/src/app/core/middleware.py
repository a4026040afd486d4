"""Pure ASGI middleware: nothing here buffers a body, so streaming responses stay streams."""

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import internal_error_response
from app.core.logging import bind_correlation_id, reset_correlation_id

CORRELATION_HEADER = "x-correlation-id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._\-]{1,128}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")

logger = structlog.get_logger("app.access")


def correlation_id_from_headers(headers: dict[bytes, bytes]) -> str:
    """A client's own id when it is safe to echo, else the W3C trace id, else a new one."""
    supplied = headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
    if _SAFE_ID.fullmatch(supplied):
        return supplied
    traceparent = headers.get(b"traceparent", b"").decode("latin-1").strip()
    match = _TRACEPARENT.fullmatch(traceparent)
    if match and match.group(1) != "0" * 32:
        return match.group(1)
    return uuid.uuid4().hex


class CorrelationIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = correlation_id_from_headers(dict(scope["headers"]))
        token = bind_correlation_id(correlation_id)
        started = time.perf_counter()
        status_code = 500

        async def send_with_header(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.encode(), correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            logger.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            reset_correlation_id(token)


class UnhandledErrorMiddleware:
    """Turns an exception no handler claimed into the JSON 500, inside the correlation scope.

    Starlette's own last-resort handler sits outside every user middleware, where the
    correlation id is already gone; this one answers while it is still bound.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if response_started:
                raise
            logger.error("unhandled_exception", exc_info=exc)
            response = internal_error_response()
            await response(scope, receive, send)
