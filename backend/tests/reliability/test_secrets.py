"""No secret leaves through logs or events: a whole exchange with the service, logging at DEBUG,
then every line it logged and every event it published is searched for the secrets it saw."""

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.e2e.helpers import ServeProcess
from tests.e2e.test_conversation import IDEA
from tests.factories import stream_events
from tests.llm_double import ScriptedLLMServer
from tests.reliability.test_processes import TERMINAL, _env, _ready, _token, _wait_status

pytestmark = pytest.mark.reliability
LLM_KEY = "sk-reliability-0123456789abcdefSECRET"
FORGED_REFRESH = "jxr_forgedRefreshToken0123456789abcdefSECRET"
FORGED_BEARER = "eyJhbGciOiJFUzI1NiJ9.forged.SECRETsignature"


async def test_logs_and_events_of_a_conversation_hold_no_secret(
    client: httpx.AsyncClient,
    resources: Resources,
    tmp_path: Path,
    endpoints: Endpoints,
    models: ScriptedLLMServer,
) -> None:
    headers = await _token(client, resources, "secrets@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")
    env = _env(tmp_path / "data", endpoints, models)
    env |= {"JEEX_LOG_LEVEL": "DEBUG", "JEEX_LLM_API_KEY": LLM_KEY}
    serve = ServeProcess(env, tmp_path / "serve.log")
    try:
        await _ready(serve)
        async with httpx.AsyncClient(base_url=serve.base_url, headers=headers) as http:
            project = (await http.post("/api/v1/projects", json={"name": "Secret"})).json()
            base = f"/api/v1/projects/{project['id']}"
            for text in (IDEA, "1.a, 2.b"):
                accepted = (await http.post(f"{base}/messages", json={"content": text})).json()
                run = await _wait_status(http, base, accepted["run"]["id"], TERMINAL, 120)
                assert run["status"] == "completed", run
            ticket = (await http.post(f"{base}/events/ticket")).json()["ticket"]
            async with http.stream("GET", f"{base}/events", params={"ticket": ticket}) as opened:
                assert opened.status_code == 200
            # Secrets a client might send wrongly or on purpose.
            refused = await http.post(
                "/api/v1/auth/refresh", json={"refresh_token": FORGED_REFRESH}
            )
            forged = await http.get(
                "/api/v1/projects", headers={"Authorization": f"Bearer {FORGED_BEARER}"}
            )
            bodies = refused.text + forged.text
    finally:
        serve.terminate()
    published = json.dumps(await stream_events(resources, project["id"]), ensure_ascii=False)
    logged = serve.output()
    print(f"secrets: {len(logged.splitlines())} log lines, {len(published)} bytes of events")
    assert (refused.status_code, forged.status_code) == (401, 401)
    assert "run.completed" in published
    assert "request" in logged  # the access log ran at DEBUG, so there was something to search
    # The tests' Valkey requires a password; serve prints the URL it was given redacted.
    redis_password = urlsplit(endpoints.redis_url).password
    assert redis_password
    assert "redis://:***@127.0.0.1" in logged
    for secret in (token, ticket, LLM_KEY, FORGED_REFRESH, FORGED_BEARER, redis_password):
        assert secret not in logged
        assert secret not in published
        assert secret not in bodies
    assert "SECRET" not in logged
