"""Without a model the service runs, and every agent action ends in ``llm_not_configured``."""

from dataclasses import replace
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient

from app.core.config import SettingsError
from app.core.infrastructure import Endpoints
from app.llm.dependencies import LLMGatewayDep
from app.llm.exceptions import LLMNotConfiguredError
from app.llm.schemas import LLMResult
from app.main import create_app
from tests.conftest import make_settings
from tests.integration.llm.conftest import GatewayFactory, make_call


async def test_the_service_starts_without_a_model_and_agent_actions_fail_clearly(
    tmp_path: Path, endpoints: Endpoints
) -> None:
    app = create_app(make_settings(tmp_path), replace(endpoints, qdrant_path=tmp_path / "qdrant"))

    @app.post("/agent-action")
    async def agent_action(gateway: LLMGatewayDep) -> dict[str, str]:
        result: LLMResult[str] = await gateway.generate(make_call("Hello"), str)
        return {"output": result.output}

    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        assert (await client.get("/health/live")).status_code == 200
        response = await client.post("/agent-action")

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "llm_not_configured"
    assert "JEEX_LLM_MODEL" in error["message"]


async def test_streaming_without_a_model_fails_before_any_delta(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(llm_model=None, llm_base_url=None)
    deltas: list[str] = []

    async def on_delta(delta: str) -> None:
        deltas.append(delta)

    assert not gateway.configured
    with pytest.raises(LLMNotConfiguredError):
        await gateway.stream_text(make_call("Hello"), on_delta)
    assert deltas == []


def test_an_unknown_agent_in_agent_models_stops_the_app_from_being_built(
    tmp_path: Path, endpoints: Endpoints
) -> None:
    settings = make_settings(
        tmp_path,
        llm_model="m",
        llm_base_url="http://127.0.0.1:9/v1",
        llm_agent_models={"pm": "large"},
    )
    with pytest.raises(SettingsError, match="JEEX_LLM_AGENT_MODELS"):
        create_app(settings, endpoints)
