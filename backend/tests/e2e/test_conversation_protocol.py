"""The protocol's guarantees through the API: no lost edit, "next" from the chat, a stage closed
only once written, a visible answer to every message."""

import asyncio
from typing import Any

from httpx import AsyncClient

from app.resources import Resources
from tests.e2e.test_conversation import IDEA, open_project
from tests.llm_double import ScriptedLLMServer, directive

MANUAL_SECTION = "## Рынок\n\n<!-- section:market -->\n\nРучная правка: ночные рынки."


async def _put(project: Any, document_type: str, content: str, version: int) -> dict[str, Any]:
    response = await project.client.put(
        f"{project.base}/documents/{document_type}",
        json={"content": content},
        headers={**project.headers, "If-Match": f'"{version}"'},
    )
    assert response.status_code == 200, response.text
    edited: dict[str, Any] = response.json()
    return edited


async def test_a_manual_edit_saved_while_a_section_streams_is_never_lost(
    api: tuple[AsyncClient, Resources], models: ScriptedLLMServer
) -> None:
    client, resources = api
    project = await open_project(client, resources, "editor@example.com")
    await project.say(IDEA)
    v1 = await project.get("/documents/idea")
    # The answer's words reach the section's prompt, and with them a slow stream.
    slow = directive(key="slow-section", chunk_delay=0.05)
    response = await client.post(
        f"{project.base}/messages", json={"content": f"1.b {slow}"}, headers=project.headers
    )
    assert response.status_code == 202, response.text
    run_id = response.json()["run"]["id"]
    deadline = asyncio.get_running_loop().time() + 20
    while not any(item.streamed for item in models.exchanges("slow-section")):
        assert asyncio.get_running_loop().time() < deadline, "the section never started"
        await asyncio.sleep(0.02)
    manual = await _put(project, "idea", v1["content"] + "\n" + MANUAL_SECTION + "\n", 1)
    assert manual["version"] == 2
    run = await project.wait(run_id)
    assert run["status"] == "completed", run

    latest = await project.get("/documents/idea")
    assert latest["version"] == 3
    assert latest["author_agent"] == "product_manager"
    assert "Ручная правка: ночные рынки." in latest["content"]
    assert "<!-- section:problem -->" in latest["content"]
    versions = await project.versions("idea")
    assert [(v["version"], v["author_agent"]) for v in versions] == [
        (3, "product_manager"),
        (2, None),
        (1, "product_manager"),
    ]


async def test_next_in_the_chat_starts_the_next_stage(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    project = await open_project(client, resources, "next@example.com")
    await project.say(IDEA)
    await project.say("1.a, 2.b")
    closed = await project.say("Меня всё устраивает")
    assert closed["status"] == "completed"
    closing = (await project.messages())[-1]
    assert (closing["author_agent"], closing["kind"]) == ("product_manager", "text")
    assert closing["payload"]["next_stage"] == "specs"
    assert closing["payload"]["version"] == 2

    moved = await project.say("дальше")
    assert moved["status"] == "completed", moved
    assert (await project.get(""))["current_stage"] == "specs"
    questions = await project.last("questions")
    assert questions["author_agent"] == "engineering_standards"
    assert questions["stage"] == "specs"


async def test_a_stage_is_completed_only_once_it_has_a_version_written_in_it(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    project = await open_project(client, resources, "guard@example.com")
    await project.say(IDEA)
    await project.say("1.a, 2.b")
    await project.say("устраивает")
    await project.start("specs")
    refused = await client.post(f"{project.base}/stages/specs/complete", headers=project.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "stage_incomplete"

    # "Satisfied" before anything is written: the next expert gets the floor instead.
    asked_before = (await project.last("questions"))["author_agent"]
    run = await project.say("устраивает")
    assert run["status"] == "completed"
    progress = await project.get("/progress")
    assert progress["stages"][1]["status"] == "in_progress"
    last = await project.last("questions")
    assert last["author_agent"] != asked_before
    assert (await project.messages())[-1]["kind"] == "questions"

    await project.say("1.a")
    completed = await client.post(f"{project.base}/stages/specs/complete", headers=project.headers)
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"
    closing = (await project.messages())[-1]
    assert closing["kind"] == "text"
    assert closing["payload"]["next_stage"] == "architecture"
    assert "«Архитектура»" in closing["content"]


async def test_every_message_gets_a_visible_reply(api: tuple[AsyncClient, Resources]) -> None:
    client, resources = api
    project = await open_project(client, resources, "replies@example.com")
    for text in (IDEA, "1.e", "ok", "@venture_expert", "1.a", "looks good", "устраивает", "1.a"):
        before = len(await project.messages())
        run = await project.say(text)
        assert run["status"] == "completed", (text, run)
        after = await project.messages()
        replies = [m for m in after[before:] if m["role"] != "user"]
        assert replies, f"no reply to {text!r}"
