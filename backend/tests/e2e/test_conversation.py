"""A whole project through all four stages, over the HTTP API only, against scripted models."""

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from app.memory import service as memory_service
from app.projects.scoping import AccessibleProjectID
from app.resources import Resources
from tests.conftest import client_for, make_settings
from tests.factories import auth_headers, create_user
from tests.llm_double import ScriptedLLMServer

IDEA = "Хочу сделать приложение, через которое маленькие пекарни продают хлеб ночью."
TERMINAL = {"completed", "failed", "cancelled"}


def conversation_settings(data_dir: Path, models: ScriptedLLMServer, **overrides: object) -> Any:
    values: dict[str, object] = {
        "llm_base_url": models.base_url,
        "llm_model": "scripted-model",
        "llm_read_timeout_seconds": 10.0,
        "llm_backoff_initial_seconds": 0.01,
        "llm_backoff_max_seconds": 0.05,
        "conversation_lease_seconds": 3.0,
        "worker_in_process": True,
        **overrides,
    }
    return make_settings(data_dir, **values)


class Project:
    """The user's side of a project: send, wait for the run, read what happened."""

    def __init__(self, client: AsyncClient, headers: dict[str, str], project_id: str) -> None:
        self.client, self.headers, self.id = client, headers, project_id
        self.base = f"/api/v1/projects/{project_id}"

    async def say(self, text: str) -> dict[str, Any]:
        response = await self.client.post(
            f"{self.base}/messages", json={"content": text}, headers=self.headers
        )
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        assert accepted["message"]["content"] == text
        assert accepted["run"]["status"] in {"queued", "running"}
        return await self.wait(accepted["run"]["id"])

    async def start(self, stage: str) -> dict[str, Any]:
        response = await self.client.post(f"{self.base}/stages/{stage}/start", headers=self.headers)
        assert response.status_code == 202, response.text
        return await self.wait(response.json()["run"]["id"])

    async def wait(self, run_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.client.get(f"{self.base}/runs/{run_id}", headers=self.headers)
            assert response.status_code == 200, response.text
            run: dict[str, Any] = response.json()
            if run["status"] in TERMINAL:
                return run
            assert asyncio.get_running_loop().time() < deadline, f"run stuck: {run}"
            await asyncio.sleep(0.05)

    async def get(self, path: str, **params: str | int) -> Any:
        response = await self.client.get(f"{self.base}{path}", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def messages(self) -> list[dict[str, Any]]:
        page = await self.get("/messages", limit=200)
        items: list[dict[str, Any]] = page["items"]
        return items

    async def last(self, kind: str) -> dict[str, Any]:
        return next(m for m in reversed(await self.messages()) if m["kind"] == kind)

    async def versions(self, document_type: str) -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = await self.get(f"/documents/{document_type}/versions")
        return versions


async def open_project(client: AsyncClient, resources: Resources, email: str) -> Project:
    headers = auth_headers(resources, await create_user(resources, email))
    created = await client.post("/api/v1/projects", json={"name": "Пекарни"}, headers=headers)
    return Project(client, headers, created.json()["id"])


async def test_a_project_goes_through_all_four_stages(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    project = await open_project(client, resources, "founder@example.com")

    first = await project.say(IDEA)
    assert first["status"] == "completed", first["error"]
    # One call for the language, the greeting and idea v1, one for the first questions.
    assert first["model_calls"] == 2
    assert first["input_tokens"] > 0
    assert (await project.get(""))["language"] == "ru"
    idea_v1 = await project.get("/documents/idea")
    assert idea_v1["version"] == 1
    assert IDEA in idea_v1["content"]
    assert idea_v1["author_agent"] == "product_manager"
    questions = await project.last("questions")
    assert questions["author_agent"] == "business_analyst"
    assert [len(q["options"]) for q in questions["payload"]["questions"]] == [3, 2]

    answer = await project.say("1.b, 2.a — нужен упор на B2B")
    assert answer["status"] == "completed", answer
    idea_v2 = await project.get("/documents/idea")
    assert idea_v2["version"] == 2
    assert idea_v2["reason"].startswith("business_analyst:")
    section = await project.last("section")
    assert section["author_agent"] == "business_analyst"
    assert "Покупатели" in section["content"]
    assert section["payload"]["selections"] == {"1": ["b"], "2": ["a"]}
    assert "нужен упор на B2B" in section["payload"]["free_text"]
    assert set(idea_v2["source_message_ids"]) == {
        questions["id"],
        answer["message_id"],
        section["id"],
    }
    assert (await project.last("questions"))["author_agent"] == "venture_expert"

    await project.say("ок")  # take the recommendations
    assert (await project.get("/documents/idea"))["version"] == 3
    assert "Подписка" in (await project.last("section"))["content"]

    await project.say("Меня всё устраивает")
    progress = await project.get("/progress")
    assert (progress["stages"][0]["stage"], progress["stages"][0]["status"]) == (
        "idea",
        "completed",
    )

    for stage in ("specs", "architecture", "plan"):
        started = await project.start(stage)
        assert started["status"] == "completed", started
        assert (await project.get(""))["current_stage"] == stage
        await project.say("1.a, 2.b")
        written = await project.get(f"/documents/{stage}")
        assert written["version"] == 1
        assert "Пекарни" in written["content"]
        await project.say("устраивает")

    progress = await project.get("/progress")
    assert [s["status"] for s in progress["stages"]] == ["completed"] * 4
    assert [d["active_version"] for d in progress["documents"]] == [3, 1, 1, 1]
    for document_type in ("idea", "specs", "architecture", "plan"):
        versions = await project.versions(document_type)
        numbers = [v["version"] for v in versions]
        assert numbers == list(range(len(numbers), 0, -1))
        assert all(v["author_agent"] == "product_manager" for v in versions)

    story = [(m["role"], m["kind"], m["author_agent"]) for m in await project.messages()]
    assert story[:4] == [
        ("user", "text", None),
        ("agent", "text", "product_manager"),
        ("agent", "questions", "business_analyst"),
        ("user", "text", None),
    ]
    assert story[4] == ("agent", "section", "business_analyst")
    # Two expert turns in the idea stage, then one in each later stage.
    assert sum(1 for _, kind, _ in story if kind == "section") == 5
    assert all(kind != "error" for _, kind, _ in story)

    # The worker indexed what was written: the project's memory can answer about it.
    async with resources.session_factory() as session:
        hits = await memory_service.search(
            session, resources.memory, AccessibleProjectID(UUID(project.id)), IDEA
        )
    assert hits
    assert {hit.document_type for hit in hits} & {"idea"}


async def test_an_invalid_answer_is_refused_and_changes_nothing(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    project = await open_project(client, resources, "typo@example.com")
    await project.say(IDEA)
    before = await project.get("/documents/idea")
    run = await project.say("1.e, 7.a")
    assert run["status"] == "completed"
    refusal = await project.last("error")
    assert "question 1 has no option 'e'" in refusal["content"]
    assert "question 7 does not exist" in refusal["content"]
    assert "1: a–c" in refusal["payload"]["valid"]
    assert (await project.get("/documents/idea"))["version"] == before["version"]
    assert (await project.last("questions"))["author_agent"] == "business_analyst"
    await project.say("1.a, 2.b")
    assert (await project.get("/documents/idea"))["version"] == before["version"] + 1


async def test_addressing_an_expert_gives_them_the_floor(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    project = await open_project(client, resources, "direct@example.com")
    await project.say(IDEA)
    await project.say("@triz_expert хочу услышать про противоречия")
    questions = await project.last("questions")
    assert questions["author_agent"] == "triz_expert"
    assert (await project.get("/documents/idea"))["version"] == 1


async def test_a_completed_stage_can_be_reopened(api: tuple[AsyncClient, Resources]) -> None:
    client, resources = api
    project = await open_project(client, resources, "again@example.com")
    await project.say(IDEA)
    done = await project.client.post(
        f"{project.base}/stages/idea/complete", headers=project.headers
    )
    assert done.json()["status"] == "completed"
    early = await project.client.post(
        f"{project.base}/stages/architecture/start", headers=project.headers
    )
    assert early.status_code == 409
    reopened = await project.start("idea")
    assert reopened["status"] == "completed"
    progress = await project.get("/progress")
    assert progress["stages"][0]["status"] == "in_progress"
    assert (await project.last("questions"))["author_agent"] == "business_analyst"


async def test_the_turn_bound_closes_a_stage(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = conversation_settings(tmp_path, models, conversation_max_turns_per_stage=1)
    async with client_for(settings, endpoints) as (client, resources):
        project = await open_project(client, resources, "bound@example.com")
        await project.say(IDEA)
        await project.say("1.a, 2.a")
        progress = await project.get("/progress")
    assert progress["stages"][0]["status"] == "completed"
    assert progress["documents"][0]["active_version"] == 2
