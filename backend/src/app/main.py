"""The FastAPI application."""

import asyncio
import contextlib
import gc
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.exceptions import RedisError
from starlette.routing import Route
from starlette.types import Lifespan

from app.auth.router import public_router as auth_public_router
from app.auth.router import router as auth_router
from app.conversation.router import router as conversation_router
from app.core.api_docs import install_api_docs
from app.core.config import Settings, load_settings
from app.core.errors import (
    ErrorResponse,
    document_unreadable_bodies,
    install_error_handlers,
    json_error_responses,
)
from app.core.infrastructure import Endpoints
from app.core.jobs import create_queue
from app.core.logging import configure_logging
from app.core.middleware import (
    BodySizeLimitMiddleware,
    CorrelationIdMiddleware,
    SecurityHeadersMiddleware,
    UnhandledErrorMiddleware,
)
from app.core.telemetry import configure_tracing, instrument_app
from app.core.web_app import WebApp
from app.documents.router import router as documents_router
from app.documents.tracing.router import router as trace_router
from app.exports.router import router as exports_router
from app.health.router import router as health_router
from app.llm.budget_router import router as budget_router
from app.llm.routing import resolve_routes
from app.mcp.endpoint import METHODS as MCP_METHODS
from app.mcp.endpoint import PATH as MCP_PATH
from app.mcp.endpoint import McpEndpoint
from app.memory.store import MemoryStore
from app.messages.router import router as messages_router
from app.projects.router import router as projects_router
from app.resources import Resources
from app.streams.router import describe_stream_items, progress_router
from app.streams.router import router as events_router
from app.worker import create_worker

API_PREFIX = "/api/v1"
OPENAPI_URL = "/openapi.json"

logger = structlog.get_logger(__name__)


async def _close_step(name: str, close: Callable[[], Awaitable[object]]) -> None:
    """Shut one part down; a part that is already gone (Redis stopped) must not keep the others
    from closing."""
    try:
        await close()
    except (OSError, RedisError) as error:
        logger.warning("shutdown_step_failed", step=name, error=type(error).__name__)


def settle_heap() -> None:
    """Move every object alive now into the collector's permanent generation.

    Start-up leaves several hundred thousand objects that live as long as the process (the model
    SDKs, PyTorch and the embeddings model, the ORM, pydantic schemas). Left in the oldest
    generation, each full collection walked all of them again: under load, one pause of
    0.2–0.5 s every few seconds and about a fifth of the CPU (measured by bench/run_all.py).
    """
    gc.collect()
    gc.freeze()


async def _settle_heap_when_warm(memory: MemoryStore) -> None:
    await memory.warmed_up()
    settle_heap()


def create_app(settings: Settings, endpoints: Endpoints) -> FastAPI:
    traced = configure_tracing(settings.tracing_sample_ratio)
    # Checked here, before serving, so a bad JEEX_LLM_AGENT_MODELS stops start-up by name.
    llm_routes = resolve_routes(settings.llm)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Imported here: the model SDKs take seconds to import, which every CLI command that
        # never calls a model (and a serve that fails its database check) would pay.
        from app.llm.service import LLMGateway

        resources = Resources.open(settings, endpoints)
        app.state.resources = resources
        # Creates the memory collection when missing (or stops start-up when it does not fit
        # the embeddings model) and loads that model in the background.
        await resources.memory.start()
        gateway = LLMGateway(settings.llm, resources.redis, routes=llm_routes)
        app.state.llm_gateway = gateway
        queue = create_queue(endpoints.redis_url)
        await queue.connect()
        app.state.job_queue = queue
        worker = (
            create_worker(queue, resources, gateway, owns_signals=False)
            if settings.worker.in_process
            else None
        )
        worker_task = asyncio.create_task(worker.start()) if worker is not None else None
        settle_heap()
        # The embeddings model loads in the background and brings as many objects again.
        heap_task = asyncio.create_task(_settle_heap_when_warm(resources.memory))
        try:
            async with mcp_endpoint.running():
                yield
        finally:
            heap_task.cancel()
            gc.unfreeze()  # what start-up froze is collectable again once the app is gone
            if worker is not None and worker_task is not None:
                await _close_step("worker", worker.stop)
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            await _close_step("run queue", queue.disconnect)
            await _close_step("llm gateway", gateway.aclose)
            await _close_step("resources", resources.close)

    app = _routed_app(lifespan)
    # MCP for coding agents; outside the OpenAPI schema, which describes the REST API.
    mcp_endpoint = McpEndpoint(lambda: app.state.resources)
    app.router.routes.append(
        Route(MCP_PATH, mcp_endpoint, methods=MCP_METHODS, include_in_schema=False)
    )
    # What no route claims: the web app's files and pages, else the JSON 404.
    app.router.default = WebApp(settings.web_dist_dir, fallback=app.router.not_found)
    if traced:
        instrument_app(app)
    _add_middleware(app, settings)
    return app


def _routed_app(lifespan: Lifespan[FastAPI] | None) -> FastAPI:
    """The application's routes and schema: everything ``/openapi.json`` describes."""
    app = FastAPI(
        title="JEEX Idea API",
        version="1.0.0",
        summary="Turns a raw idea into a versioned package of Markdown documents.",
        openapi_url=OPENAPI_URL,
        # /docs and /redoc from the assets of a pinned package (app.core.api_docs).
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        responses={500: {"model": ErrorResponse, "description": "Unexpected error."}},
    )
    install_error_handlers(app)
    install_api_docs(app, title=app.title, openapi_url=OPENAPI_URL)
    app.include_router(health_router)
    # FastAPI matches a path against every route of every router included before the one that
    # serves it (twice for that one): the routers most requests go to come first. No two
    # routers' paths overlap, so the order changes nothing else (test_routing_order checks it).
    for router in (
        auth_router,
        documents_router,
        messages_router,
        projects_router,
        events_router,
        trace_router,
        conversation_router,
        progress_router,
        exports_router,
        budget_router,
        auth_public_router,
    ):
        # Every API route is rate-limited, needs Redis and PostgreSQL, and takes a body cap.
        app.include_router(router, prefix=API_PREFIX, responses=json_error_responses(413, 429, 503))
    document_unreadable_bodies(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_stream_items(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.http.max_request_body_bytes)
    if settings.http.cors_origins:
        # Only the configured origins, compared exactly (never a wildcard): with credentials,
        # so that a front end on one of them can call /auth/refresh with the refresh cookie.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.http.cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Last-Event-ID",
                "X-Correlation-ID",
                "traceparent",
            ],
            expose_headers=["ETag", "Location", "Retry-After", "X-Correlation-ID"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    # Added last so it runs first: every log line and error body carries the correlation id.
    app.add_middleware(CorrelationIdMiddleware)


def render_openapi(schema: dict[str, Any]) -> str:
    """The schema as ``jeex-idea openapi`` prints it and ``frontend/openapi.json`` holds it:
    sorted keys, so that a change to the API is a readable diff."""
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def openapi_document() -> str:
    """The API's OpenAPI JSON without starting anything: the routes describe themselves, and
    nothing a lifespan or middleware adds appears in the schema."""
    return render_openapi(_routed_app(lifespan=None).openapi())


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory app.main:app_from_environment`` replicas.

    Such replicas share servers configured by URL; run ``jeex-idea db upgrade`` first.
    """
    settings = load_settings()
    configure_logging(settings.logging.level, settings.logging.format)
    return create_app(settings, Endpoints.from_settings(settings))
