"""Every failure has one JSON shape with the correlation id, and a 500 leaks nothing."""

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel

from app.core.errors import NotFoundError
from app.core.infrastructure import Endpoints
from app.main import create_app
from tests.conftest import make_settings

SECRET_IN_DRIVER_MESSAGE = "password=hunter2"


class Echo(BaseModel):
    count: int


@pytest.fixture
async def failing_client(tmp_path: Path, endpoints: Endpoints) -> AsyncIterator[AsyncClient]:
    own_qdrant = replace(endpoints, qdrant_path=tmp_path / "qdrant")
    app = create_app(make_settings(tmp_path), own_qdrant)
    _add_failing_routes(app)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(
            transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
        ) as client,
    ):
        yield client


def _add_failing_routes(app: FastAPI) -> None:
    @app.get("/boom", response_model=Echo)
    async def boom() -> Echo:
        raise RuntimeError(f"connection failed: {SECRET_IN_DRIVER_MESSAGE}")

    @app.get("/missing", response_model=Echo)
    async def missing() -> Echo:
        raise NotFoundError("Project not found", details={"hint": "none"})

    @app.get("/echo", response_model=Echo)
    async def echo(count: int) -> Echo:
        return Echo(count=count)


def _assert_error_shape(body: dict[str, object], code: str, correlation_id: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) == {"code", "message", "details", "correlation_id"}
    assert error["code"] == code
    assert error["correlation_id"] == correlation_id


async def test_unknown_route_is_a_404_in_the_error_shape(client: AsyncClient) -> None:
    response = await client.get("/api/v1/no/such/route", headers={"X-Correlation-ID": "abc-123"})
    assert response.status_code == 404
    assert response.headers["x-correlation-id"] == "abc-123"
    _assert_error_shape(response.json(), "not_found", "abc-123")


async def test_an_unexpected_error_is_a_bare_500(failing_client: AsyncClient) -> None:
    response = await failing_client.get("/boom")
    assert response.status_code == 500
    correlation_id = response.headers["x-correlation-id"]
    _assert_error_shape(response.json(), "internal_error", correlation_id)
    assert SECRET_IN_DRIVER_MESSAGE not in response.text
    assert "Traceback" not in response.text


async def test_a_domain_error_keeps_its_status_code_and_details(
    failing_client: AsyncClient,
) -> None:
    response = await failing_client.get("/missing")
    assert response.status_code == 404
    body = response.json()
    _assert_error_shape(body, "not_found", response.headers["x-correlation-id"])
    assert body["error"]["message"] == "Project not found"
    assert body["error"]["details"] == {"hint": "none"}


async def test_validation_errors_say_where_without_echoing_input(
    failing_client: AsyncClient,
) -> None:
    response = await failing_client.get("/echo", params={"count": "<b>not-a-number</b>"})
    assert response.status_code == 422
    body = response.json()
    _assert_error_shape(body, "validation_error", response.headers["x-correlation-id"])
    assert body["error"]["details"][0]["loc"] == ["query", "count"]
    assert "not-a-number" not in response.text


async def test_method_not_allowed_uses_the_error_shape(client: AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
