"""One error shape for every failure: ``{"error": {code, message, details, correlation_id}}``.

Exceptions nobody claims become a 500 in :class:`app.core.middleware.UnhandledErrorMiddleware`.

Domains subclass :class:`AppError` in their ``exceptions.py``. A 500 means a bug: its body never
carries the exception text, which may hold a driver's or a provider's words.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from app.core.logging import current_correlation_id


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str = Field(description="Human-readable explanation.")
    details: Any | None = Field(default=None, description="Structured context, when useful.")
    correlation_id: str | None = Field(description="Matches the X-Correlation-ID header.")


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring the error shape for each status code."""
    return {code: {"model": ErrorResponse} for code in status_codes}


_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


def json_error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """The same, spelled out as JSON: ``error_responses`` documents them under the route's own
    media type, which is wrong for an HTML page or an event stream (their errors are JSON)
    and for responses declared on a whole router of mixed routes."""
    return {
        code: {"description": HTTPStatus(code).phrase, "content": _JSON_ERROR}
        for code in status_codes
    }


class AppError(Exception):
    status_code: ClassVar[int] = status.HTTP_400_BAD_REQUEST
    code: ClassVar[str] = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, details: Any | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ServiceUnavailableError(AppError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            code=code, message=message, details=details, correlation_id=current_correlation_id()
        )
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def _allowed_methods(request: Request) -> str:
    """Every method of every route at this path. Starlette's 405 names only the methods of the
    first route whose path matched, although several routes (GET and POST of
    /projects/{id}/messages) may share it."""
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        if context.path is None or not context.methods:
            continue
        if compile_path(context.path)[0].match(request.scope["path"]):
            methods |= context.methods
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = exc.headers
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def _plain_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The raw errors may embed the offending input and exception objects; keep what a client
    # can act on.
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg"), "type": error.get("type")}
        for error in exc.errors()
    ]


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "validation_error",
        "The request is not valid.",
        _plain_validation_errors(exc),
    )


# Long enough for a restarted Redis or a reconnecting pool; short enough to feel live.
_UNAVAILABLE_RETRY_AFTER_SECONDS = 2


def _unavailable(dependency: str) -> JSONResponse:
    return error_response(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "service_unavailable",
        f"A service this request needs ({dependency}) is unavailable; retry shortly.",
        {"dependency": dependency},
        headers={"Retry-After": str(_UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


async def _redis_error(_: Request, exc: Exception) -> JSONResponse:
    # Redis down or unreachable: the request cannot be counted against its limits, nor its
    # job queued. Nothing of the driver's text reaches the client.
    return _unavailable("redis")


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """A lost or refused database connection is an outage (503), every other database error a
    bug (500). The pool pings before reuse, so the next request gets a working connection."""
    assert isinstance(exc, sa_exc.DBAPIError)
    if exc.connection_invalidated or isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError
    ):
        return _unavailable("postgres")
    raise exc


async def _database_pool_timeout(_: Request, exc: Exception) -> JSONResponse:
    return _unavailable("postgres")


def internal_error_response() -> JSONResponse:
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "An unexpected error occurred."
    )


def document_unreadable_bodies(app: FastAPI) -> None:
    """A body that is not UTF-8 JSON at all gets FastAPI's 400 before any validation; say so
    on every route that takes a body. Call once every router is included."""
    unreadable = {"description": "The body could not be read as JSON.", "content": _JSON_ERROR}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.body_field is not None:
            # The route's own table, and the merged copy its included router serves from.
            route.responses.setdefault(status.HTTP_400_BAD_REQUEST, unreadable)
            context.responses.setdefault(status.HTTP_400_BAD_REQUEST, unreadable)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RedisError, _redis_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _database_pool_timeout)
