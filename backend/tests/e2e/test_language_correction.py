"""A wrongly detected language is corrected by an owner, through the API or the chat command,
until the team has written a document; the agents switch from the next turn."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from httpx import AsyncClient

from app.memory import service as memory_service
from app.projects.scoping import AccessibleProjectID
from app.resources import Resources
from tests.conversation_double import conversation_responder
from tests.e2e.test_conversation import IDEA, Project, open_project
from tests.factories import add_member, auth_headers, create_user
from tests.llm_double import ScriptedLLMServer
from tests.llm_double.script import Reply, message_text, requested_schema, structured_reply

RUSSIAN_RULE = 'ISO 639-1 code "ru"'
ENGLISH_RULE = 'ISO 639-1 code "en"'


@contextmanager
def detected_as_english(models: ScriptedLLMServer) -> Iterator[None]:
    """The Product Manager takes the Russian idea for English, as a small model may."""

    def responder(body: dict[str, Any]) -> Reply | None:
        schema = requested_schema(body) or {}
        if set(schema.get("properties", {})) == {"language", "greeting", "restructured_idea"}:
            opening = conversation_responder(body)
            assert opening is not None
            return structured_reply(
                body,
                {
                    "language": "en",
                    "greeting": "Hello! The team will ask a few questions.",
                    "restructured_idea": f"# Idea\n\n<!-- section:summary -->\n\n{IDEA}",
                },
            )
        return conversation_responder(body)

    models.responder = responder
    try:
        yield
    finally:
        models.responder = conversation_responder


def _instructions(body: dict[str, Any]) -> str:
    return "\n".join(
        message_text(message)
        for message in body.get("messages", [])
        if message.get("role") in {"system", "developer"}
    )


async def _put_language(project: Project, code: str) -> Any:
    return await project.client.put(
        f"{project.base}/language", json={"language": code}, headers=project.headers
    )


async def _memory_hits(resources: Resources, project: Project) -> int:
    async with resources.session_factory() as session:
        hits = await memory_service.search(
            session, resources.memory, AccessibleProjectID(UUID(project.id)), IDEA
        )
    return len(hits)


async def test_an_owner_corrects_the_language_and_the_next_turn_is_written_in_it(
    api: tuple[AsyncClient, Resources], models: ScriptedLLMServer
) -> None:
    client, resources = api
    project = await open_project(client, resources, "wrong-language@example.com")
    with detected_as_english(models):
        first = await project.say(IDEA)
    assert first["status"] == "completed", first["error"]
    assert (await project.get(""))["language"] == "en"
    # idea v1 is indexed under the wrong language: a search in it finds it.
    for _ in range(200):
        if await _memory_hits(resources, project):
            break
        await asyncio.sleep(0.05)
    assert await _memory_hits(resources, project)

    corrected = await _put_language(project, "ru")

    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["language"] == "ru"
    assert corrected.json()["role"] == "owner"
    assert (await project.get(""))["language"] == "ru"
    # The memory follows: idea v1 is found again, now under the corrected language.
    for _ in range(200):
        if await _memory_hits(resources, project):
            break
        await asyncio.sleep(0.05)
    assert await _memory_hits(resources, project)

    before = len(models.exchanges())
    answer = await project.say("1.b, 2.a")
    assert answer["status"] == "completed", answer["error"]
    turn = models.exchanges()[before:]
    assert len(turn) >= 3  # the expert's section, its integration, the next questions
    for exchange in turn:
        instructions = _instructions(exchange.body)
        assert RUSSIAN_RULE in instructions
        assert ENGLISH_RULE not in instructions
    assert (await project.get("/documents/idea"))["version"] == 2

    # The team has written a document in it now: the language stays.
    late = await _put_language(project, "en")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "language_locked"
    assert (await project.get(""))["language"] == "ru"


async def test_only_an_owner_may_correct_the_language_and_only_to_a_real_code(
    api: tuple[AsyncClient, Resources],
) -> None:
    client, resources = api
    owner = await open_project(client, resources, "lang-owner@example.com")
    await create_user(resources, "lang-editor@example.com")
    await add_member(
        client, resources, owner.headers, owner.id, "lang-editor@example.com", "editor"
    )
    async with resources.session_factory() as session:
        from app.users import repository as user_repository

        editor_user = await user_repository.get_by_email(session, "lang-editor@example.com")
    assert editor_user is not None
    editor = Project(client, auth_headers(resources, editor_user.id), owner.id)
    stranger_id = await create_user(resources, "lang-stranger@example.com")
    stranger = Project(client, auth_headers(resources, stranger_id), owner.id)

    refused = await _put_language(editor, "ru")
    hidden = await _put_language(stranger, "ru")
    unknown = await _put_language(owner, "xx")
    # Before the first message the owner may name the language the idea will be answered in.
    chosen = await _put_language(owner, "de")

    assert refused.status_code == 403
    assert hidden.status_code == 404
    assert unknown.status_code == 422
    assert chosen.status_code == 200
    assert chosen.json()["language"] == "de"


async def test_the_chat_command_corrects_the_language_for_an_owner_only(
    api: tuple[AsyncClient, Resources], models: ScriptedLLMServer
) -> None:
    client, resources = api
    owner = await open_project(client, resources, "command-owner@example.com")
    await create_user(resources, "command-editor@example.com")
    await add_member(
        client, resources, owner.headers, owner.id, "command-editor@example.com", "editor"
    )
    async with resources.session_factory() as session:
        from app.users import repository as user_repository

        editor_user = await user_repository.get_by_email(session, "command-editor@example.com")
    assert editor_user is not None
    editor = Project(client, auth_headers(resources, editor_user.id), owner.id)
    with detected_as_english(models):
        await owner.say(IDEA)
    calls = len(models.exchanges())

    by_editor = await editor.say("/language ru")
    refusal = (await owner.messages())[-1]
    by_owner = await owner.say("/language ru")
    notice = (await owner.messages())[-1]

    assert by_editor["status"] == by_owner["status"] == "completed"
    assert len(models.exchanges()) == calls  # code decides: no model was asked
    assert (refusal["kind"], refusal["payload"]["code"]) == ("error", "language_owner")
    assert (notice["kind"], notice["payload"]["code"]) == ("text", "language_set")
    assert notice["payload"]["notice_language"] == "ru"
    assert notice["content"].startswith("Язык проекта теперь ru")
    assert (await owner.get(""))["language"] == "ru"
    # The open questions are still open: the next answer goes to the same expert, in Russian.
    before = len(models.exchanges())
    answer = await owner.say("1.a")
    assert answer["status"] == "completed", answer["error"]
    assert all(RUSSIAN_RULE in _instructions(item.body) for item in models.exchanges()[before:])

    locked = await owner.say("/language en")
    assert locked["status"] == "completed"
    last = (await owner.messages())[-1]
    assert (last["kind"], last["payload"]["code"]) == ("error", "language_locked")
    assert (await owner.get(""))["language"] == "ru"
