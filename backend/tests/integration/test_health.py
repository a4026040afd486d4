import gc
from dataclasses import replace
from pathlib import Path

from httpx import ASGITransport, AsyncClient

from app.core.embedded.redis import EmbeddedRedis
from app.core.infrastructure import Endpoints
from app.main import create_app
from tests.conftest import client_for, make_settings
from tests.e2e.helpers import free_port
from tests.llm_double import ScriptedLLMServer


async def test_live_answers_without_touching_any_part(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_every_part(client: AsyncClient) -> None:
    response = await client.get("/health/ready")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert set(body["checks"]) == {"postgres", "redis", "qdrant"}
    assert all(check["ok"] and check["error"] is None for check in body["checks"].values())


async def test_ready_is_503_naming_redis_when_redis_stops(
    tmp_path: Path, endpoints: Endpoints
) -> None:
    own_redis = EmbeddedRedis(tmp_path / "redis-to-stop")
    own_redis.start()
    settings = make_settings(tmp_path / "data", health_check_timeout_seconds=1.0)
    app = create_app(
        settings,
        Endpoints(
            database_url=endpoints.database_url,
            redis_url=own_redis.url,
            qdrant_url=None,
            qdrant_path=tmp_path / "qdrant",
            embedded=endpoints.embedded,
        ),
    )
    try:
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
        ):
            assert (await client.get("/health/ready")).status_code == 200
            own_redis.stop()
            response = await client.get("/health/ready")
    finally:
        own_redis.stop()
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failed"] == ["redis"]
    assert body["checks"]["redis"]["error"]
    assert body["checks"]["postgres"]["ok"] is True


async def test_start_up_moves_its_objects_out_of_the_collectors_way(
    tmp_path: Path, endpoints: Endpoints
) -> None:
    app = create_app(make_settings(tmp_path / "data"), replace(endpoints, qdrant_path=tmp_path))
    gc.unfreeze()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0
        await app.state.resources.memory.warmed_up()


async def test_ready_reports_a_missing_model_without_failing(client: AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    llm = response.json()["llm"]
    assert llm["status"] == "not_configured"
    assert llm["model"] is None
    assert llm["error"] is None


async def test_ready_reports_a_reachable_and_an_unreachable_model(
    tmp_path: Path, endpoints: Endpoints
) -> None:
    async with ScriptedLLMServer() as models:
        reachable = make_settings(tmp_path / "a", llm_base_url=models.base_url, llm_model="m")
        async with client_for(reachable, endpoints) as (client, _):
            first = (await client.get("/health/ready")).json()["llm"]
            again = (await client.get("/health/ready")).json()["llm"]
        # The second answer is the first one again: the provider is asked every 30 s at most.
        assert models.model_list_requests == 1
    assert first["status"] == "ok"
    assert (first["provider"], first["model"], first["output_mode"]) == ("openai", "m", "tool")
    assert again["status"] == "ok"

    closed_port = free_port()
    unreachable = make_settings(
        tmp_path / "b",
        llm_base_url=f"http://127.0.0.1:{closed_port}/v1",
        llm_model="m",
        llm_api_key="sk-never-shown",
        health_check_timeout_seconds=1.0,
    )
    async with client_for(unreachable, endpoints) as (client, _):
        response = await client.get("/health/ready")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ready"
    assert body["llm"]["status"] == "unreachable"
    assert body["llm"]["error"] == "cannot connect (ConnectError)"
    assert "sk-never-shown" not in response.text
