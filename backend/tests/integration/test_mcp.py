"""The MCP server at /mcp, through the SDK's own client over Streamable HTTP (in process).

A document's first version is written as the engine writes it, the next through the API (PUT),
as a user edits it; the project's memory is indexed the way the job worker indexes a version.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx2
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent, TextResourceContents

from app.conversation import repository as conversation_repository
from app.conversation.questions import OpenOption, OpenQuestion
from app.core.db import unit_of_work
from app.memory import service as memory_service
from app.projects.models import Project
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType
from app.resources import Resources
from tests.factories import auth_headers, create_project, create_user, seed_document, seed_messages

MCP_URL = "http://test/mcp"
IDEA_V1 = "# Night bakeries\n\nFresh bread delivered at night from small local bakeries."
IDEA_V2 = (
    "# Night bakeries\n\n## Audience\n\nNight-shift workers who want fresh bread before dawn.\n\n"
    "## Revenue\n\nA commission on every order, paid by the bakery."
)
SECRET = "# Secret plan\n\nNobody else may read this."
QUESTION = OpenQuestion(
    number=1,
    text="Who is the main user?",
    options=[OpenOption(letter="a", text="Bakeries"), OpenOption(letter="b", text="Night owls")],
    recommended="b",
)


@dataclass(frozen=True)
class Member:
    user_id: UUID
    headers: dict[str, str]
    token: str
    token_id: UUID


async def member(client: AsyncClient, resources: Resources, email: str) -> Member:
    user_id = await create_user(resources, email)
    headers = auth_headers(resources, user_id)
    created = await client.post("/api/v1/auth/tokens", json={"name": "agent"}, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    return Member(user_id, headers, body["token"], UUID(body["id"]))


async def put_document(
    client: AsyncClient, headers: dict[str, str], project_id: str, version: int, content: str
) -> None:
    saved = await client.put(
        f"/api/v1/projects/{project_id}/documents/idea",
        json={"content": content},
        headers={**headers, "If-Match": f'"{version - 1}"'},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == version


async def speak_english(resources: Resources, project_id: str) -> None:
    """The language the first message would have fixed: memory is kept per language."""
    async with resources.session_factory() as session:
        project = await session.get(Project, UUID(project_id))
        assert project is not None
        project.language = "en"
        await session.commit()


async def index_idea(resources: Resources, project_id: str, version: int) -> None:
    async with resources.session_factory() as session:
        await memory_service.index_document_version(
            session,
            resources.memory,
            AccessibleProjectID(UUID(project_id)),
            DocumentType.IDEA,
            version,
        )


async def ask(resources: Resources, project_id: str) -> None:
    """The conversation's state once an expert asked and waits for the answers."""
    [message_id] = await seed_messages(resources, project_id, ["the questions"])
    async with unit_of_work(resources) as session:
        state = await conversation_repository.state(session, AccessibleProjectID(UUID(project_id)))
        state.phase = "awaiting_answers"
        state.floor_agent = "business_analyst"
        state.pending_questions = [QUESTION.model_dump()]
        state.questions_message_id = message_id


@dataclass(frozen=True)
class World:
    owner: Member
    stranger: Member
    project_id: str
    secret_id: str


@pytest.fixture
async def world(client: AsyncClient, resources: Resources) -> World:
    owner = await member(client, resources, "owner@example.com")
    stranger = await member(client, resources, "stranger@example.com")
    project_id = str((await create_project(client, owner.headers, "Night bakeries"))["id"])
    await speak_english(resources, project_id)
    # Version 1 as the engine writes it; the user's edit on top, through the API.
    await seed_document(resources, project_id, "idea", [IDEA_V1])
    await put_document(client, owner.headers, project_id, 2, IDEA_V2)
    await index_idea(resources, project_id, 2)
    await ask(resources, project_id)
    secret_id = str((await create_project(client, stranger.headers, "Secret"))["id"])
    await seed_document(resources, secret_id, "idea", [SECRET])
    return World(owner, stranger, project_id, secret_id)


@asynccontextmanager
async def mcp_client(app: FastAPI, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    )
    async with http, Client(streamable_http_client(MCP_URL, http_client=http), cache=None) as mcp:
        yield mcp


def text_of(contents: list[Any]) -> str:
    [content] = contents
    assert isinstance(content, TextResourceContents | TextContent)
    return content.text


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    # The text block carries the same result, for clients that read only text.
    assert json.loads(text_of(result.content)) == result.structured_content
    return result.structured_content


def idea_uri(project_id: str, version: int | None = None) -> str:
    tail = f"/versions/{version}" if version is not None else ""
    return f"jeex://projects/{project_id}/documents/idea{tail}"


async def test_the_resources_are_the_callers_projects_and_their_documents(
    app: FastAPI, world: World
) -> None:
    async with mcp_client(app, world.owner.token) as mcp:
        listed = await mcp.list_resources()
        projects = json.loads(text_of((await mcp.read_resource("jeex://projects")).contents))
    uris = {str(resource.uri) for resource in listed.resources}
    assert uris == {
        "jeex://projects",
        f"jeex://projects/{world.project_id}/manifest",
        idea_uri(world.project_id),
    }
    assert [(p["id"], p["name"], p["role"]) for p in projects["projects"]] == [
        (world.project_id, "Night bakeries", "owner")
    ]


async def test_a_document_reads_at_its_active_version_and_at_any_other(
    app: FastAPI, world: World
) -> None:
    async with mcp_client(app, world.owner.token) as mcp:
        active = await mcp.read_resource(idea_uri(world.project_id))
        first = await mcp.read_resource(idea_uri(world.project_id, 1))
        manifest = json.loads(
            text_of(
                (await mcp.read_resource(f"jeex://projects/{world.project_id}/manifest")).contents
            )
        )
    assert text_of(active.contents) == IDEA_V2
    assert text_of(first.contents) == IDEA_V1
    [content] = active.contents
    assert content.mime_type == "text/markdown"
    files = {item["document_type"]: item for item in manifest["files"]}
    assert files["idea"] == {
        "path": "01-idea/idea.md",
        "document_type": "idea",
        "status": "present",
        "version": 2,
        "sha256": hashlib.sha256(IDEA_V2.encode()).hexdigest(),
        "bytes": len(IDEA_V2.encode()),
        "uri": idea_uri(world.project_id),
    }
    assert [files[t]["status"] for t in ("specs", "architecture", "plan")] == ["absent"] * 3
    assert manifest["project"]["id"] == world.project_id


async def test_each_tool_answers_from_the_project(app: FastAPI, world: World) -> None:
    async with mcp_client(app, world.owner.token) as mcp:
        tools = await mcp.list_tools()
        found = structured(
            await mcp.call_tool(
                "search_memory",
                {"project": world.project_id, "query": "who pays a commission?", "limit": 3},
            )
        )
        document = structured(
            await mcp.call_tool(
                "get_document", {"project": world.project_id, "type": "idea", "version": 1}
            )
        )
        questions = structured(
            await mcp.call_tool("list_open_questions", {"project": world.project_id})
        )
    assert {tool.name for tool in tools.tools} == {
        "search_memory",
        "get_document",
        "list_open_questions",
        "get_trace",
        "get_item",
    }
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.tools)
    assert found["hits"], found
    assert "commission on every order" in found["hits"][0]["text"]
    assert {hit["version"] for hit in found["hits"]} == {2}
    assert (document["version"], document["active_version"]) == (1, 2)
    assert document["content"] == IDEA_V1
    assert questions["expert"] == "business_analyst"
    assert questions["stage"] == "idea"
    assert questions["questions"] == [QUESTION.model_dump()]


TRACED_IDEA = "# Idea\n\n## Goals\n<!-- section:goals_kpis -->\n- Fresh bread by 6 am\n"
TRACED_PLAN = (
    "# Plan\n\n## Tasks\n<!-- section:tasks -->\n- Night courier rota → R-1\n- Write a blog post\n"
)
TRACED_SPECS = "# Specs\n\n## DoD\n<!-- section:definition_of_done -->\n- Delivered by 6 → G-1\n"


async def test_an_agent_reads_the_trace_and_one_item(
    app: FastAPI, resources: Resources, world: World
) -> None:
    await seed_document(resources, world.project_id, "idea", [TRACED_IDEA])
    await seed_document(resources, world.project_id, "specs", [TRACED_SPECS])
    await seed_document(resources, world.project_id, "plan", [TRACED_PLAN])
    async with mcp_client(app, world.owner.token) as mcp:
        trace = structured(await mcp.call_tool("get_trace", {"project": world.project_id}))
        item = structured(
            await mcp.call_tool("get_item", {"project": world.project_id, "id": "R-1"})
        )
        missing = await mcp.call_tool("get_item", {"project": world.project_id, "id": "R-9"})
    assert [node["id"] for node in trace["nodes"]] == ["G-1", "R-1", "T-1", "T-2"]
    assert trace["gaps"] == [{"kind": "purposeless_task", "item": "T-2", "target": None}]
    assert item["item"]["text"] == "Delivered by 6"
    assert [node["id"] for node in item["serves"]] == ["G-1"]
    assert [node["id"] for node in item["served_by"]] == ["T-1"]
    assert (item["retired_targets"], item["stale"]) == ([], None)
    assert missing.is_error
    assert text_of(missing.content) == "No item R-9 in the active documents."


async def test_another_users_project_is_unreadable_like_a_missing_one(
    app: FastAPI, world: World
) -> None:
    missing = str(uuid4())
    async with mcp_client(app, world.owner.token) as mcp:
        refusals: list[tuple[Any, ...]] = []
        for project_id in (world.secret_id, missing):
            with pytest.raises(MCPError) as refused:
                await mcp.read_resource(idea_uri(project_id))
            refusals.append((refused.value.code, refused.value.message, refused.value.data))
            answers = [
                await mcp.call_tool(name, {"project": project_id, **extra})
                for name, extra in (
                    ("search_memory", {"query": "secret"}),
                    ("get_document", {"type": "idea"}),
                    ("list_open_questions", {}),
                    ("get_trace", {}),
                    ("get_item", {"id": "G-1"}),
                )
            ]
            refusals.append(tuple((a.is_error, text_of(a.content)) for a in answers))
        listed = await mcp.list_resources()
    assert refusals[0] == refusals[2]
    assert refusals[1] == refusals[3]
    assert refusals[0][1] == "Project not found."
    assert refusals[1] == ((True, "Project not found."),) * 5
    assert not any(world.secret_id in str(resource.uri) for resource in listed.resources)


async def test_a_revoked_token_is_refused_on_its_next_request(
    app: FastAPI, client: AsyncClient, world: World
) -> None:
    async with mcp_client(app, world.owner.token) as mcp:
        assert (await mcp.list_resources()).resources
        revoked = await client.delete(
            f"/api/v1/auth/tokens/{world.owner.token_id}", headers=world.owner.headers
        )
        assert revoked.status_code == 204
        with pytest.raises(MCPError):
            await mcp.list_resources()
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({"Authorization": f"Bearer {world.owner.token}"}, {}):
        refused = await client.post("/mcp", json=ping, headers={**accept, **headers})
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "invalid_credentials"
        assert refused.headers["WWW-Authenticate"] == "Bearer"
    # The other user's token still works: the refusal is about this token only.
    answered = await client.post(
        "/mcp", json=ping, headers={**accept, "Authorization": f"Bearer {world.stranger.token}"}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["result"] == {}


async def test_arguments_and_addresses_are_checked(app: FastAPI, world: World) -> None:
    async with mcp_client(app, world.owner.token) as mcp:
        wrong_type = await mcp.call_tool("get_document", {"project": world.project_id, "type": "x"})
        extra = await mcp.call_tool(
            "list_open_questions", {"project": world.project_id, "stage": "idea"}
        )
        with pytest.raises(MCPError) as unknown_tool:
            await mcp.call_tool("delete_project", {"project": world.project_id})
        with pytest.raises(MCPError) as unknown_uri:
            await mcp.read_resource(f"jeex://projects/{world.project_id}/secrets")
        with pytest.raises(MCPError) as missing_version:
            await mcp.read_resource(idea_uri(world.project_id, 9))
    assert wrong_type.is_error
    assert text_of(wrong_type.content).startswith("invalid arguments: type:")
    assert extra.is_error
    assert "stage" in text_of(extra.content)
    assert "No tool 'delete_project'" in unknown_tool.value.message
    assert unknown_uri.value.message.startswith("No such resource")
    assert missing_version.value.message == "The idea document has no version 9."


async def test_a_browser_at_mcp_gets_the_json_401_not_the_web_app(client: AsyncClient) -> None:
    response = await client.get("/mcp", headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
