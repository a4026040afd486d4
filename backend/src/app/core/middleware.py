"""Pure ASGI middleware: nothing here buffers a body, so streaming responses stay streams."""

import re
import time
import uuid

import structlog
from fastapi import status
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import error_response, internal_error_response
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


class _StartTracker:
    """``send``, remembering whether the response has started: once it has, a failure can no
    longer be answered with an error response of its own."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


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
        tracked = _StartTracker(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if tracked.started:
                raise
            logger.error("unhandled_exception", exc_info=exc)
            response = internal_error_response()
            await response(scope, receive, send)


class RequestBodyTooLargeError(HTTPException):
    """Raised from ``receive`` once a streamed body passes the cap. An HTTPException, so that
    FastAPI's body parsing passes it on instead of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The request body is larger than {limit} bytes.",
        )


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413: at once when Content-Length says so, and
    while reading when the body streams in without one (or with a false one)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestBodyTooLargeError(self.max_bytes)
            return message

        tracked = _StartTracker(send)
        try:
            await self.app(scope, counting_receive, tracked)
        except RequestBodyTooLargeError:
            # Read outside FastAPI's body parsing (a route reading the stream itself).
            if tracked.started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            status.HTTP_413_CONTENT_TOO_LARGE,
            "payload_too_large",
            f"The request body is larger than {self.max_bytes} bytes.",
            # The rest of the body is not read: the connection cannot be reused.
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


# frame-ancestors: the API's pages (the docs, a document's HTML preview) are never framed.
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Headers every response carries. HSTS only on requests that came over TLS: the ASGI
    scheme is ``https`` for a direct TLS connection, or when uvicorn took it from
    ``X-Forwarded-Proto`` of a proxy it trusts. `serve` trusts only the proxies
    ``JEEX_FORWARDED_ALLOW_IPS`` names (none by default); a replica run by uvicorn itself
    follows its own ``--forwarded-allow-ips``. Over plain HTTP a browser ignores it anyway,
    and sending it there would only mislead. The pages that run scripts (/docs, /redoc, a
    document's HTML preview) set their own Content-Security-Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_SECURITY_HEADERS)
        if scope.get("scheme") == "https":
            extra.append(_HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                # A route that sets its own (e.g. a stricter policy) keeps it.
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
