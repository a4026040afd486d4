"""`jeex-idea mcp` as a coding agent runs it: a subprocess speaking MCP on stdio, bridged to a
real `serve` (tests/e2e/web_stack.py) whose scripted models held the start of a conversation.
The agent's side is the SDK's own client; so is the check of /mcp over real HTTP."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent, TextResourceContents

from tests.e2e.helpers import CLI, cli_env, run_cli
from tests.e2e.test_web_stack import IDEA, User
from tests.e2e.web_stack import QUESTIONS, SECOND_EMAIL, WebStack

EDITED = (
    "# Ночные пекарни\n\n## Доход\n\nКомиссия с каждого заказа: её платит пекарня, "
    "а покупатель платит только за хлеб."
)
SECRET = "Секретный план второго пользователя."
MEMORY_WAIT_SECONDS = 90


@dataclass(frozen=True)
class World:
    stack: WebStack
    owner: User
    project_id: str
    unedited_id: str
    secret_id: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with WebStack(tmp_path_factory.mktemp("mcp"), chunk_delay=0.001) as stack:
        owner = User(stack.base_url, stack.mint_sign_in_url())
        project_id = owner.http.post("/api/v1/projects", json={"name": "Пекарни"}).json()["id"]
        # The PM writes idea v1 and the Business Analyst asks; the owner then edits by hand.
        owner.say(project_id, IDEA)
        edited = owner.http.put(
            f"/api/v1/projects/{project_id}/documents/idea",
            json={"content": EDITED},
            headers={"If-Match": '"1"'},
        )
        assert edited.status_code == 200, edited.text
        # Memory is searched here: a manual edit is not indexed yet (the API's edit enqueues no
        # indexing job), and the version it replaced drops its own chunks as stale.
        unedited_id = owner.http.post("/api/v1/projects", json={"name": "Без правок"}).json()["id"]
        owner.say(unedited_id, IDEA)
        second = User(stack.base_url, stack.mint_sign_in_url(SECOND_EMAIL))
        secret_id = second.http.post("/api/v1/projects", json={"name": SECRET}).json()["id"]
        yield World(stack, owner, project_id, unedited_id, secret_id)


def new_token(world: World) -> tuple[str, str]:
    """A personal access token of the owner's, and its id."""
    name = f"agent-{uuid4().hex[:8]}"
    command = ["tokens", "create", "--email", "owner@localhost", "--name", name]
    created = run_cli(*command, env=cli_env(world.stack.data_dir))
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    [listed] = [t for t in world.owner.get("/api/v1/auth/tokens") if t["name"] == name]
    return token, str(listed["id"])


def revoke(world: World, token_id: str) -> None:
    revoked = world.owner.http.delete(f"/api/v1/auth/tokens/{token_id}")
    assert revoked.status_code == 204, revoked.text


@asynccontextmanager
async def over_stdio(world: World, token: str, errlog: Path) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=CLI, args=["mcp"], env=cli_env(world.stack.data_dir, JEEX_TOKEN=token)
    )
    with errlog.open("w") as stderr:
        async with Client(stdio_client(params, errlog=stderr), cache=None) as client:
            yield client


def text_of(contents: list[Any]) -> str:
    [content] = contents
    assert isinstance(content, TextResourceContents | TextContent)
    return content.text


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def idea_uri(project_id: str, version: int | None = None) -> str:
    tail = f"/versions/{version}" if version is not None else ""
    return f"jeex://projects/{project_id}/documents/idea{tail}"


async def search_until_found(client: Client, project_id: str, phrase: str) -> dict[str, Any]:
    """The worker indexes what the conversation wrote after its commit: search until it is
    there."""
    deadline = time.monotonic() + MEMORY_WAIT_SECONDS
    while True:
        found = structured(
            await client.call_tool("search_memory", {"project": project_id, "query": IDEA})
        )
        if any(phrase in hit["text"] for hit in found["hits"]):
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.5)


async def test_a_local_agent_reads_its_projects_over_stdio(world: World, tmp_path: Path) -> None:
    token, _ = new_token(world)
    async with over_stdio(world, token, tmp_path / "mcp.err") as agent:
        listed = {str(resource.uri) for resource in (await agent.list_resources()).resources}
        projects = json.loads(text_of((await agent.read_resource("jeex://projects")).contents))
        active = text_of((await agent.read_resource(idea_uri(world.project_id))).contents)
        first = text_of((await agent.read_resource(idea_uri(world.project_id, 1))).contents)
        manifest = json.loads(
            text_of(
                (await agent.read_resource(f"jeex://projects/{world.project_id}/manifest")).contents
            )
        )
        found = await search_until_found(agent, world.unedited_id, "пекарни продают хлеб ночью")
        document = structured(
            await agent.call_tool("get_document", {"project": world.project_id, "type": "idea"})
        )
        questions = structured(
            await agent.call_tool("list_open_questions", {"project": world.project_id})
        )
    assert listed == {
        "jeex://projects",
        *(f"jeex://projects/{p}/manifest" for p in (world.project_id, world.unedited_id)),
        *(idea_uri(p) for p in (world.project_id, world.unedited_id)),
    }
    assert {p["id"] for p in projects["projects"]} == {world.project_id, world.unedited_id}
    assert active == EDITED
    assert IDEA in first
    assert [(f["document_type"], f["version"]) for f in manifest["files"]] == [
        ("idea", 2),
        ("specs", None),
        ("architecture", None),
        ("plan", None),
    ]
    assert {hit["document_type"] for hit in found["hits"]} == {"idea"}
    assert "document" in {hit["source"] for hit in found["hits"]}
    assert (document["version"], document["content"]) == (2, EDITED)
    # The Business Analyst's questions, lettered by the engine, still awaiting the answer.
    assert questions["expert"] == "business_analyst"
    assert [q["text"] for q in questions["questions"]] == [q["text"] for q in QUESTIONS]
    assert [o["text"] for o in questions["questions"][0]["options"]] == QUESTIONS[0]["options"]


async def test_over_stdio_another_users_project_is_a_missing_one(
    world: World, tmp_path: Path
) -> None:
    token, _ = new_token(world)
    async with over_stdio(world, token, tmp_path / "mcp.err") as agent:
        refusals = []
        for project_id in (world.secret_id, str(uuid4())):
            with pytest.raises(MCPError) as refused:
                await agent.read_resource(idea_uri(project_id))
            tool = await agent.call_tool("get_document", {"project": project_id, "type": "idea"})
            refusals.append((refused.value.code, refused.value.message, text_of(tool.content)))
        listed = await agent.list_resources()
    assert refusals[0] == refusals[1]
    assert refusals[0][1:] == ("Project not found.", "Project not found.")
    assert not any(world.secret_id in str(resource.uri) for resource in listed.resources)


async def test_a_revoked_token_stops_the_bridge_at_once_and_at_start(
    world: World, tmp_path: Path
) -> None:
    token, token_id = new_token(world)
    async with over_stdio(world, token, tmp_path / "mcp.err") as agent:
        assert (await agent.list_resources()).resources
        revoke(world, token_id)
        # Each stdio request is a request to /mcp, authenticated afresh.
        with pytest.raises(MCPError):
            await agent.list_resources()
    started = run_cli("mcp", env=cli_env(world.stack.data_dir, JEEX_TOKEN=token), timeout=60)
    assert started.returncode == 1
    assert "refused JEEX_TOKEN" in started.stderr
    assert started.stdout == ""  # stdout is the protocol's: nothing else is written there
    assert token not in started.stderr


async def test_the_served_mcp_endpoint_answers_the_sdk_client_over_http(world: World) -> None:
    token, token_id = new_token(world)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(
            streamable_http_client(f"{world.stack.base_url}/mcp", http_client=http), cache=None
        ) as agent,
    ):
        document = structured(
            await agent.call_tool(
                "get_document", {"project": world.project_id, "type": "idea", "version": 1}
            )
        )
    assert document["version"] == 1
    assert IDEA in document["content"]
    revoke(world, token_id)
    refused = httpx2.post(
        f"{world.stack.base_url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={**headers, "Accept": "application/json, text/event-stream"},
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_credentials"
