"""The event payloads are part of the published API contract."""

from typing import Any

import httpx

# PRODUCT.md's stable list of SSE event names; the contract changes only by adding.
PRODUCT_EVENT_NAMES = {
    "run.started",
    "agent.floor",
    "expert.questions",
    "expert.section.delta",
    "expert.section",
    "document.version",
    "stage.completed",
    "run.completed",
    "run.failed",
    "export.progress",
    "export.ready",
    "ping",
}
ADDED_EVENT_NAMES = {"export.failed", "agent.message", "trace.stale"}
EVENT_NAMES = PRODUCT_EVENT_NAMES | ADDED_EVENT_NAMES


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    name = ref.removeprefix("#/components/schemas/")
    found: dict[str, Any] = schema["components"]["schemas"][name]
    return found


async def test_the_stream_documents_every_event_model(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/projects/{project_id}/events"]["get"]
    message = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert message["required"] == ["data"]
    assert set(message["properties"]) == {"event", "id", "retry", "data"}
    stream = message["properties"]["data"]["contentSchema"]
    mapping = stream["discriminator"]["mapping"]
    assert set(mapping) == EVENT_NAMES
    assert {item["$ref"] for item in stream["oneOf"]} == set(mapping.values())
    for name, ref in mapping.items():
        model = _resolve(schema, ref)
        assert "project_id" in model["required"], name
        assert model["properties"]["type"]["const"] == name
    assert {param["name"] for param in operation["parameters"]} >= {
        "project_id",
        "Last-Event-ID",
        "last_event_id",
    }
    # The ticket is the bearer token's alternative, either one enough.
    assert operation["security"] == [{"HTTPBearer": []}, {"StreamTicket": []}]


async def test_the_streams_errors_are_json_like_every_other(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    responses = schema["paths"]["/api/v1/projects/{project_id}/events"]["get"]["responses"]
    for code in ("401", "404", "422", "500", "503"):
        [(media_type, body)] = responses[code]["content"].items()
        assert media_type == "application/json", code
        assert "error" in _resolve(schema, body["schema"]["$ref"])["properties"]


async def test_the_ticket_and_the_snapshot_are_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    ticket = schema["paths"]["/api/v1/projects/{project_id}/events/ticket"]["post"]
    created = ticket["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(_resolve(schema, created["$ref"])["required"]) == {"ticket", "expires_in"}
    assert "last_event_id" in schema["components"]["schemas"]["ProjectProgress"]["properties"]
