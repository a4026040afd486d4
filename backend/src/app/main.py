"""The FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.auth.router import public_router as auth_public_router
from app.auth.router import router as auth_router
from app.core.config import Settings, load_settings
from app.core.errors import ErrorResponse, install_error_handlers
from app.core.infrastructure import Endpoints
from app.core.logging import configure_logging
from app.core.middleware import CorrelationIdMiddleware, UnhandledErrorMiddleware
from app.core.resources import Resources
from app.core.telemetry import configure_tracing, instrument_app
from app.documents.router import router as documents_router
from app.events.router import router as events_router
from app.health.router import router as health_router
from app.llm.routing import resolve_routes
from app.messages.router import router as messages_router
from app.projects.router import router as projects_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings, endpoints: Endpoints) -> FastAPI:
    configure_tracing()
    # Checked here, before serving, so a bad JEEX_LLM_AGENT_MODELS stops start-up by name.
    llm_routes = resolve_routes(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Imported here: the model SDKs take seconds to import, which every CLI command that
        # never calls a model (and a serve that fails its database check) would pay.
        from app.llm.service import LLMGateway

        resources = Resources.open(settings, endpoints)
        app.state.resources = resources
        app.state.llm_gateway = LLMGateway(settings, resources.redis, routes=llm_routes)
        try:
            yield
        finally:
            await app.state.llm_gateway.aclose()
            await resources.close()

    app = FastAPI(
        title="JEEX Idea API",
        version="1.0.0",
        summary="Turns a raw idea into a versioned package of Markdown documents.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
        lifespan=lifespan,
        responses={500: {"model": ErrorResponse, "description": "Unexpected error."}},
    )
    install_error_handlers(app)
    app.include_router(health_router)
    for router in (
        auth_public_router,
        auth_router,
        projects_router,
        messages_router,
        documents_router,
        events_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    instrument_app(app)
    app.add_middleware(UnhandledErrorMiddleware)
    # Added last so it runs first: every log line and error body carries the correlation id.
    app.add_middleware(CorrelationIdMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory app.main:app_from_environment`` replicas.

    Such replicas share servers configured by URL; run ``jeex-idea db upgrade`` first.
    """
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, Endpoints.from_settings(settings))
