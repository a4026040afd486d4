"""The apps the real API is measured against; ``bench/serve_api.py`` serves them by name.

``bare_app``: plain FastAPI over a raw asyncpg pool, answering the three measured routes with
the same SQL for the same rows as the API's repositories, and nothing else: no token, no rate
limit, no middleware, no tracing, no logging, no ORM, no response models.

``full_app_without_auth``: the production app from ``app_from_environment`` with its auth
dependency (``get_caller``, and ``get_admission`` that ``/auth/me`` uses: bearer parsing, the
bearer check or its remembered result, the per-user rate limit and the credentials stamp)
replaced by the fixed benchmark user, admitted under a fixed stamp. Everything else, the
request's database session and the replica's memory of the profile included, is the same, so
the difference between the two is what the dependency costs.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import FastAPI, Request, Response

USER_SQL = 'SELECT id, email, name, avatar_url, created_at FROM "user" WHERE id = $1'
IDENTITIES_SQL = (
    "SELECT provider, email, name, avatar_url FROM user_identity "
    "WHERE user_id = $1 ORDER BY created_at"
)
DOCUMENT_SQL = (
    "SELECT document_type, version, author_user_id, author_agent, reason, source_message_ids, "
    "parent_version, created_at, content FROM document_version "
    "WHERE project_id = $1 AND document_type = $2 ORDER BY version DESC LIMIT 1"
)
PROJECTS_SQL = (
    "SELECT p.id, p.name, p.description, p.language, m.role, p.current_stage, p.created_at, "
    "p.updated_at FROM project AS p JOIN project_member AS m ON m.project_id = p.id "
    "WHERE m.user_id = $1 ORDER BY p.updated_at DESC, p.id DESC LIMIT $2"
)


def bare_app() -> FastAPI:
    dsn = os.environ["JEEX_DATABASE_URL"]
    # The same pool size as the API's SQLAlchemy pool (JEEX_DATABASE_POOL_SIZE + MAX_OVERFLOW).
    user_id = UUID(os.environ["BENCH_USER_ID"])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=10, max_size=20)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    def pool(request: Request) -> asyncpg.Pool:
        value: asyncpg.Pool = request.app.state.pool
        return value

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/auth/me")
    async def me(request: Request) -> dict[str, Any]:
        async with pool(request).acquire() as connection:
            user = await connection.fetchrow(USER_SQL, user_id)
            identities = await connection.fetch(IDENTITIES_SQL, user_id)
        return {**dict(user), "identities": [dict(row) for row in identities]}

    @app.get("/api/v1/projects/{project_id}/documents/{document_type}")
    async def document(
        request: Request, response: Response, project_id: UUID, document_type: str
    ) -> dict[str, Any]:
        row = await pool(request).fetchrow(DOCUMENT_SQL, project_id, document_type)
        response.headers["ETag"] = f'"{row["version"]}"'
        return dict(row)

    @app.get("/api/v1/projects")
    async def projects(request: Request, limit: int = 50) -> list[dict[str, Any]]:
        rows = await pool(request).fetch(PROJECTS_SQL, user_id, limit)
        return [dict(row) for row in rows]

    return app


def full_app_without_auth() -> FastAPI:
    from app.auth.dependencies import get_admission, get_caller
    from app.auth.principals import Caller
    from app.auth.service import Admission
    from app.main import app_from_environment

    app = app_from_environment()
    caller = Caller(user_id=UUID(os.environ["BENCH_USER_ID"]), via_personal_token=False)
    admission = Admission(caller, credentials="fixed-benchmark-stamp", stamps=())
    app.dependency_overrides[get_caller] = lambda: caller
    app.dependency_overrides[get_admission] = lambda: admission
    return app


def conversation_app() -> FastAPI:
    """The production app with the one difference ``serve`` makes on one machine: Qdrant in
    local mode in a folder (``BENCH_QDRANT_PATH``), since no Qdrant server runs here. Database
    and Valkey are still reached by URL, and the job worker runs in the process."""
    from pathlib import Path

    from app.core.config import load_settings
    from app.core.infrastructure import Endpoints, asyncpg_url
    from app.core.logging import configure_logging
    from app.main import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.database_url is None or settings.redis_url is None:
        raise RuntimeError("JEEX_DATABASE_URL and JEEX_REDIS_URL are required")
    endpoints = Endpoints(
        database_url=asyncpg_url(settings.database_url),
        redis_url=str(settings.redis_url),
        qdrant_url=None,
        qdrant_path=Path(os.environ["BENCH_QDRANT_PATH"]),
        embedded=frozenset(),
    )
    return create_app(settings, endpoints)
