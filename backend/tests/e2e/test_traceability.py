"""Traceability end to end: a four-stage project whose experts write linked items, a manual
change of one requirement, the stale items it reaches, and the update that brings only their
sections in line — over the HTTP API, against scripted models."""

import asyncio
import io
import re
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from httpx import AsyncClient

from app.conversation.editing import section_texts
from app.core.infrastructure import Endpoints
from app.memory import service as memory_service
from app.projects.scoping import AccessibleProjectID
from app.resources import Resources
from tests.conftest import client_for
from tests.conversation_double import UPDATED, _block, _prompt, conversation_responder
from tests.e2e.test_conversation import Project, conversation_settings, open_project
from tests.e2e.test_export import _wait_until_ready
from tests.llm_double import ScriptedLLMServer
from tests.llm_double.script import Reply, TextReply, requested_schema

_IDS = re.compile(r"\*\*([GRCDTM]-[0-9]+)\*\*")


def _earlier_ids(prompt: str, prefix: str) -> list[str]:
    earlier = _block(prompt, "Earlier documents:")
    return sorted({item for item in _IDS.findall(earlier) if item[0] == prefix}, key=_number)


def _number(item: str) -> int:
    return int(item[2:])


def _items_section(prompt: str) -> str:
    """What each expert writes: linked items in its first section that lists them."""
    keys = re.findall(r"<!-- section:([a-z_]+) -->", prompt.split("Your questions:", maxsplit=1)[0])
    goals = _earlier_ids(prompt, "G")
    requirements = _earlier_ids(prompt, "R")
    components = _earlier_ids(prompt, "C")
    if "audience" in keys:
        return (
            "## Audience\n\n<!-- section:audience -->\n\n"
            "- Small bakeries that bake at night\n- Night-shift workers who want fresh bread\n"
        )
    if "coding_standards" in keys:
        return (
            "## Standards\n\n<!-- section:coding_standards -->\n\n"
            f"- Orders are confirmed within a second → {goals[0]}\n"
            "  - Acceptance: p95 under 1 s\n"
            f"- Every bakery sees only its own orders → {goals[1]}\n"
        )
    if "stack" in keys:
        return (
            "## Stack\n\n<!-- section:stack -->\n\n"
            f"- Order service in Python → {requirements[0]}\n"
            f"- Tenant filter in every query → {requirements[1]}\n"
        )
    if "infrastructure" in keys:
        return (
            "## Infrastructure\n\n<!-- section:infrastructure -->\n\n"
            f"- One PostgreSQL per region → {requirements[1]}\n"
        )
    if "tasks" in keys:
        return (
            "## Tasks\n\n<!-- section:tasks -->\n\n"
            f"- Build the order endpoint → {components[0]}, {requirements[0]}\n"
            f"- Add row-level tenant checks → {components[2]}, {requirements[1]}\n"
        )
    return f"## Notes\n\n<!-- section:{keys[0]} -->\n\nTwo-week sprints, no items here.\n"


def traced_responder(body: dict[str, Any]) -> Reply | None:
    schema = requested_schema(body)
    prompt = _prompt(body)
    if schema is None:
        return TextReply(_items_section(prompt))
    return conversation_responder(body)


@pytest.fixture
async def traced(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> AsyncIterator[tuple[AsyncClient, Resources]]:
    async with (
        ScriptedLLMServer(responder=traced_responder) as models,
        client_for(conversation_settings(tmp_path, models), endpoints) as pair,
    ):
        yield pair


async def completed(project: Project, text: str) -> None:
    run = await project.say(text)
    assert run["status"] == "completed", run


async def four_stages(project: Project) -> None:
    await completed(project, "Ночная пекарня: хлеб к утру для ночных смен.")
    for answers in (["1.a"], ["1.a"], ["1.a", "1.a"], ["1.a", "1.a"]):
        for answer in answers:
            await completed(project, answer)
        await completed(project, "next")


def nodes(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in trace["nodes"]}


async def test_a_changed_requirement_marks_its_items_stale_and_the_update_fixes_only_them(
    traced: tuple[AsyncClient, Resources],
) -> None:
    client, resources = traced
    project = await open_project(client, resources, "tracer@example.com")
    await four_stages(project)

    trace = await project.get("/trace")
    found = nodes(trace)
    assert sorted(found) == ["C-1", "C-2", "C-3", "G-1", "G-2", "R-1", "R-2", "T-1", "T-2"]
    assert found["R-1"]["links"] == ["G-1"]
    assert found["T-1"]["links"] == ["C-1", "R-1"]
    assert found["C-3"]["section"] == "infrastructure"
    assert trace["gaps"] == []
    assert trace["stale"] == []
    specs = await project.get("/documents/specs")
    assert "- **R-1** Orders are confirmed within a second → G-1\n" in specs["content"]
    architecture_before = await project.get("/documents/architecture")
    plan_before = await project.get("/documents/plan")

    # The user changes R-1 by hand.
    edited = specs["content"].replace("within a second", "within 200 ms")
    response = await client.put(
        f"{project.base}/documents/specs",
        json={"content": edited, "reason": "tighter latency"},
        headers={**project.headers, "If-Match": f'"{specs["version"]}"'},
    )
    assert response.status_code == 200, response.text
    trace = await project.get("/trace")
    assert [(mark["item"], mark["cause_items"]) for mark in trace["stale"]] == [
        ("C-1", ["R-1"]),
        ("T-1", ["R-1"]),
    ]
    assert {node for node, value in nodes(trace).items() if value["stale"]} == {"C-1", "T-1"}
    offer = await project.last("text")
    assert offer["payload"]["code"] == "trace_stale"
    assert (offer["payload"]["changed"], offer["payload"]["stale"]) == (["R-1"], ["C-1", "T-1"])
    assert "C-1, T-1" in offer["content"]
    assert "/update" in offer["content"]

    idea_before = (await project.versions("idea"))[0]["version"]
    await completed(project, "/update")
    # Only the documents with stale items get versions: idea and specs stay where they were.
    assert (await project.versions("idea"))[0]["version"] == idea_before
    architecture = await project.get("/documents/architecture")
    plan = await project.get("/documents/plan")
    assert architecture["version"] == architecture_before["version"] + 1
    assert plan["version"] == plan_before["version"] + 1
    assert architecture["reason"] == f"propagated from specs v{specs['version'] + 1}: R-1 changed"
    assert plan["reason"].startswith("propagated from ")
    assert changed_sections(architecture_before["content"], architecture["content"]) == {"stack"}
    assert changed_sections(plan_before["content"], plan["content"]) == {"tasks"}
    assert f"**C-1** Order service in Python → R-1{UPDATED}" in architecture["content"]
    assert "**C-2** Tenant filter in every query → R-2\n" in architecture["content"]
    assert (await project.versions("specs"))[0]["version"] == specs["version"] + 1
    done = await project.last("text")
    assert done["payload"]["code"] == "trace_updated"
    assert done["payload"]["versions"] == [
        f"architecture v{architecture['version']}",
        f"plan v{plan['version']}",
    ]
    trace = await project.get("/trace")
    assert trace["stale"] == []
    assert trace["gaps"] == []
    assert not any(node["stale"] for node in trace["nodes"])

    # Nothing stale any more: another update writes nothing.
    await completed(project, "/update")
    assert (await project.last("text"))["payload"]["code"] == "trace_clean"
    assert (await project.get("/documents/plan"))["version"] == plan["version"]

    matrix = await exported_traceability(project)
    for link in trace["links"]:
        assert f"| {link['source']} | {link['target']} |" in matrix
    assert matrix.count("\n| ") - 1 == len(trace["links"])  # the header row, then one per link


def changed_sections(before: str, after: str) -> set[str]:
    old, new = section_texts(before), section_texts(after)
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


async def exported_traceability(project: Project) -> str:
    response = await project.client.post(
        f"{project.base}/exports", json={}, headers=project.headers
    )
    assert response.status_code == 202, response.text
    export_id = response.json()["id"]
    export = await _wait_until_ready(project, export_id)
    assert export["status"] == "ready", export
    archive = await project.client.get(
        f"{project.base}/exports/{export_id}/download", headers=project.headers
    )
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        name = next(n for n in opened.namelist() if n.endswith("traceability.md"))
        return opened.read(name).decode()


async def memory_versions(resources: Resources, project: Project, query: str) -> set[int]:
    """The idea versions whose chunks memory answers ``query`` with, once indexing settled."""
    async with resources.session_factory() as session:
        hits = await memory_service.search(
            session, resources.memory, AccessibleProjectID(UUID(project.id)), query, limit=20
        )
    return {hit.version for hit in hits if hit.document_type == "idea" and hit.version}


async def settled(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "memory never caught up"
        await asyncio.sleep(0.1)


async def test_a_person_s_edit_and_rollback_are_what_memory_answers_from(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    project = await open_project(client, resources, "editor@example.com")
    await completed(project, "Ночная пекарня: хлеб к утру для ночных смен.")
    idea = await project.get("/documents/idea")
    sentence = "Доставка дронами на крышу каждого общежития к шести утра."
    response = await client.put(
        f"{project.base}/documents/idea",
        json={"content": f"{idea['content']}\n{sentence}\n"},
        headers={**project.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text

    async def edit_indexed() -> bool:
        return 2 in await memory_versions(resources, project, sentence)

    await settled(edit_indexed)
    rolled = await client.post(
        f"{project.base}/documents/idea/rollback", json={"version": 1}, headers=project.headers
    )
    assert rolled.status_code == 201, rolled.text

    async def rollback_indexed() -> bool:
        # The rollback's version replaced the edit's chunks: memory answers from v3 only.
        return await memory_versions(resources, project, sentence) == {3}

    await settled(rollback_indexed)
