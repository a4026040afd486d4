"""Limits and input at the edge: body cap, length caps, NUL, Unicode, headers, CORS, SSE floods.

Fast and deterministic, so they run in the main suite (scripts/test).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from pydantic import ValidationError

from app.core.config import Settings
from app.core.infrastructure import Endpoints
from app.main import create_app
from app.resources import Resources
from tests.conftest import BASE_URL, client_for, make_settings
from tests.factories import add_member, auth_headers, create_project, create_user, seed_document
from tests.support.asgi_stream import StreamingASGITransport

# Right-to-left (Arabic, Hebrew), a ZWJ family emoji, a flag, combining marks, CJK, an astral
# symbol: text that breaks naive byte/char handling in one string.
WORLD = "مرحبا بالعالم · שלום עולם · 👩‍👩‍👧‍👦 🇺🇦 · e\u0301 · 漢字 · 𝄞"


async def _owner(client: AsyncClient, resources: Resources) -> tuple[dict[str, str], str]:
    headers = auth_headers(resources, await create_user(resources, "limits@example.com"))
    project = await create_project(client, headers, "Limits")
    return headers, str(project["id"])


@pytest.fixture
async def small_cap(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> AsyncIterator[tuple[AsyncClient, Resources]]:
    settings = make_settings(tmp_path, max_request_body_bytes=64 * 1024)
    async with client_for(settings, endpoints) as pair:
        yield pair


async def test_a_declared_body_over_the_cap_is_413_and_stores_nothing(
    small_cap: tuple[AsyncClient, Resources],
) -> None:
    client, resources = small_cap
    headers, _ = await _owner(client, resources)
    body = json.dumps({"name": "x", "description": "y" * (65 * 1024)})
    response = await client.post(
        "/api/v1/projects",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["correlation_id"] == response.headers["x-correlation-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    names = [p["name"] for p in (await client.get("/api/v1/projects", headers=headers)).json()]
    assert names == ["Limits"]


async def test_a_streamed_body_without_length_is_cut_off_at_the_cap(
    small_cap: tuple[AsyncClient, Resources],
) -> None:
    client, resources = small_cap
    headers, project_id = await _owner(client, resources)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"content": "'
        for _ in range(200):  # 200 × 1 KiB, far past the 64 KiB cap
            sent += 1024
            yield b"a" * 1024
        yield b'"}'

    response = await client.post(
        f"/api/v1/projects/{project_id}/messages",
        content=chunks(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    messages = await client.get(f"/api/v1/projects/{project_id}/messages", headers=headers)
    assert messages.json()["items"] == []


async def test_a_body_just_under_the_cap_is_accepted(
    small_cap: tuple[AsyncClient, Resources],
) -> None:
    client, resources = small_cap
    headers, project_id = await _owner(client, resources)
    content = "b" * 20_000
    response = await client.post(
        f"/api/v1/projects/{project_id}/messages", json={"content": content}, headers=headers
    )
    assert response.status_code == 202
    assert response.json()["message"]["content"] == content


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/messages", {"content": "m" * 20_001}, "content"),
        ("", {"name": "n" * 201}, "name"),
        ("", {"description": "d" * 10_001}, "description"),
        ("/documents/idea", {"content": "c" * 500_001}, "content"),
    ],
)
async def test_length_caps_answer_422_naming_the_field(
    client: AsyncClient, resources: Resources, path: str, body: dict[str, str], field: str
) -> None:
    headers, project_id = await _owner(client, resources)
    method = {"/messages": "POST", "": "PATCH", "/documents/idea": "PUT"}[path]
    response = await client.request(
        method,
        f"/api/v1/projects/{project_id}{path}",
        json=body,
        headers={**headers, "If-Match": '"0"'},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["loc"] == ["body", field]
    assert response.json()["error"]["details"][0]["type"] == "string_too_long"


async def test_token_names_are_capped_too(client: AsyncClient, resources: Resources) -> None:
    headers, _ = await _owner(client, resources)
    response = await client.post("/api/v1/auth/tokens", json={"name": "t" * 101}, headers=headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/messages", {"content": "before\x00after"}),
        ("PATCH", "", {"name": "nul\x00name"}),
        ("PATCH", "", {"description": "nul\x00description"}),
        ("PUT", "/documents/idea", {"content": "# Idea\x00"}),
        ("PUT", "/documents/idea", {"content": "# Idea", "reason": "why\x00"}),
        ("POST", "/documents/idea/rollback", {"version": 1, "reason": "\x00"}),
    ],
)
async def test_nul_bytes_are_refused_with_422_and_store_nothing(
    client: AsyncClient, resources: Resources, method: str, path: str, body: dict[str, Any]
) -> None:
    headers, project_id = await _owner(client, resources)
    base = f"/api/v1/projects/{project_id}"
    response = await client.request(
        method, f"{base}{path}", json=body, headers={**headers, "If-Match": '"0"'}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["type"] == "string_pattern_mismatch"
    # Nothing reached the database (PostgreSQL would have failed on the NUL with a 500).
    project = (await client.get(base, headers=headers)).json()
    assert (project["name"], project["description"]) == ("Limits", None)
    assert (await client.get(f"{base}/messages", headers=headers)).json()["items"] == []
    documents = (await client.get(f"{base}/documents", headers=headers)).json()
    assert all(document["active_version"] is None for document in documents)


async def test_nul_in_a_new_project_or_token_name_is_refused(
    client: AsyncClient, resources: Resources
) -> None:
    headers, _ = await _owner(client, resources)
    project = await client.post("/api/v1/projects", json={"name": "a\x00b"}, headers=headers)
    token = await client.post("/api/v1/auth/tokens", json={"name": "a\x00b"}, headers=headers)
    assert (project.status_code, token.status_code) == (422, 422)


async def test_a_lone_surrogate_is_refused_with_422(
    client: AsyncClient, resources: Resources
) -> None:
    headers, project_id = await _owner(client, resources)
    response = await client.post(
        f"/api/v1/projects/{project_id}/messages",
        content=b'{"content": "half \\ud800 a pair"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["type"] == "string_unicode"


async def test_unicode_emoji_and_right_to_left_text_round_trip(
    client: AsyncClient, resources: Resources
) -> None:
    headers, project_id = await _owner(client, resources)
    base = f"/api/v1/projects/{project_id}"
    renamed = await client.patch(
        base, json={"name": WORLD[:60], "description": WORLD}, headers=headers
    )
    assert renamed.status_code == 200
    said = await client.post(f"{base}/messages", json={"content": WORLD}, headers=headers)
    assert said.status_code == 202
    await seed_document(resources, project_id, "idea", ["# Idea\n\nfirst"])
    edited = await client.put(
        f"{base}/documents/idea",
        json={"content": f"# Idea\n\n{WORLD}", "reason": WORLD[:100]},
        headers={**headers, "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text

    project = (await client.get(base, headers=headers)).json()
    assert (project["name"], project["description"]) == (WORLD[:60], WORLD)
    messages = (await client.get(f"{base}/messages", headers=headers)).json()["items"]
    assert [m["content"] for m in messages] == [WORLD]
    document = (await client.get(f"{base}/documents/idea", headers=headers)).json()
    assert document["content"] == f"# Idea\n\n{WORLD}"
    assert document["reason"] == WORLD[:100]
    preview = await client.get(f"{base}/documents/idea/preview", headers=headers)
    assert WORLD.split(" · ", maxsplit=1)[0] in preview.text


async def test_every_response_carries_the_security_headers(client: AsyncClient) -> None:
    for response in (
        await client.get("/health/live"),
        await client.get("/api/v1/projects"),  # 401
        await client.get("/no/such/route"),  # 404
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        # The tests' client speaks https, as a browser behind TLS would.
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_hsts_is_only_sent_over_tls(app: Any, clean_state: None) -> None:
    async with AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/health/live")
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers


async def test_the_html_preview_has_a_locked_down_csp(
    client: AsyncClient, resources: Resources
) -> None:
    headers, project_id = await _owner(client, resources)
    await seed_document(resources, project_id, "idea", ["# Idea\n\n<script>alert(1)</script>"])
    response = await client.get(
        f"/api/v1/projects/{project_id}/documents/idea/preview", headers=headers
    )
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert "<script>" not in response.text


async def test_cors_answers_configured_origins_only(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, cors_origins="https://app.example.com")
    async with client_for(settings, endpoints) as (client, _):
        allowed = await client.options(
            "/api/v1/projects",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        refused = await client.options(
            "/api/v1/projects",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        simple = await client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_without_configured_origins_no_cors_headers_at_all(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"Origin": "https://app.example.com"})
    preflight = await client.options(
        "/api/v1/projects",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize(
    "origins", ["*", "https://app.example.com/", "app.example.com", "https://*.example.com"]
)
def test_a_cors_origin_that_could_not_match_exactly_stops_start_up(
    tmp_path: Path, origins: str
) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(data_dir=tmp_path, cors_origins=origins)


def test_cors_origins_are_a_comma_separated_list(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        cors_origins=" https://app.example.com, http://localhost:3000 ",
    )
    assert settings.cors_origins == ["https://app.example.com", "http://localhost:3000"]


async def test_a_method_the_path_lacks_is_405_listing_all_it_has(
    client: AsyncClient, resources: Resources
) -> None:
    headers, project_id = await _owner(client, resources)
    response = await client.delete(f"/api/v1/projects/{project_id}/messages", headers=headers)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    assert response.json()["error"]["code"] == "method_not_allowed"


async def _open(http: AsyncClient, project_id: str, headers: dict[str, str]) -> httpx.Response:
    request = http.build_request("GET", f"/api/v1/projects/{project_id}/events", headers=headers)
    return await http.send(request, stream=True)


async def test_a_flood_of_event_streams_from_one_user_is_refused_with_429(
    client: AsyncClient, resources: Resources, tmp_path: Path, endpoints: Endpoints
) -> None:
    owner_id = await create_user(resources, "flood@example.com")
    headers = auth_headers(resources, owner_id)
    project_id = str((await create_project(client, headers, "Flood"))["id"])
    other_user = await create_user(resources, "other@example.com")
    await add_member(client, resources, headers, project_id, "other@example.com", "viewer")
    settings = make_settings(tmp_path, events_max_streams_per_user=3)
    application = create_app(settings, replace(endpoints, qdrant_path=tmp_path / "qdrant"))
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=StreamingASGITransport(application), base_url=BASE_URL) as http,
    ):
        own = application.state.resources
        mine = auth_headers(own, owner_id)
        flood = await asyncio.gather(*(_open(http, project_id, mine) for _ in range(12)))
        statuses = sorted(response.status_code for response in flood)
        refused = next(response for response in flood if response.status_code == 429)
        body = json.loads(await refused.aread())
        # Another member is not starved by the first one's flood.
        theirs = await _open(http, project_id, auth_headers(own, other_user))
        assert theirs.status_code == 200
        await theirs.aclose()
        for response in flood:
            await response.aclose()
        # Every slot comes back: open and close well past the cap, one after another.
        for _ in range(8):
            again = await _open(http, project_id, mine)
            assert again.status_code == 200
            await again.aclose()
        started = time.monotonic()
        while own.event_streams.streams_by_user and time.monotonic() - started < 5:
            await asyncio.sleep(0.02)
        leftover = dict(own.event_streams.streams_by_user)
    assert statuses == [200] * 3 + [429] * 9
    assert body["error"]["code"] == "event_streams_per_user_exceeded"
    assert refused.headers["retry-after"] == "5"
    assert leftover == {}
