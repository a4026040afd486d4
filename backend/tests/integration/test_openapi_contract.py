from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from httpx import AsyncClient

from app.main import openapi_document, render_openapi
from tests.routes import api_routes, methods

COMMITTED_SCHEMA = Path(__file__).resolve().parents[3] / "frontend" / "openapi.json"


def test_every_route_declares_its_response(app: FastAPI) -> None:
    """A route without response_model (or a non-JSON response class) breaks the contract."""
    undeclared = [
        f"{methods(route)} {path}"
        for path, route in api_routes(app)
        if route.response_model is None
        and route.response_class in (JSONResponse,)
        and route.status_code != 204
    ]
    assert undeclared == []


async def test_openapi_and_docs_are_served(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["info"]["title"] == "JEEX Idea API"
    assert "/health/ready" in schema["paths"]
    assert "503" in schema["paths"]["/health/ready"]["get"]["responses"]
    assert "ErrorResponse" in schema["components"]["schemas"]
    for page, marker in (("/docs", "swagger-ui"), ("/redoc", "redoc")):
        response = await client.get(page)
        assert response.status_code == 200
        assert marker in response.text.lower()


def test_the_route_walk_sees_the_included_routers(app: FastAPI) -> None:
    paths = {path for path, _ in api_routes(app)}
    assert {"/api/v1/auth/me", "/api/v1/projects/{project_id}/members", "/health/ready"} <= paths


def test_the_schema_without_a_running_app_is_the_served_one(app: FastAPI) -> None:
    assert openapi_document() == render_openapi(app.openapi())


def test_the_committed_frontend_schema_is_the_current_one(app: FastAPI) -> None:
    """The frontend's types are generated from frontend/openapi.json: it must not drift."""
    if not COMMITTED_SCHEMA.exists():
        pytest.skip("no frontend/openapi.json committed yet")
    assert COMMITTED_SCHEMA.read_text(encoding="utf-8") == render_openapi(app.openapi()), (
        "frontend/openapi.json differs from the API: run scripts/gen-api and commit the result"
    )
