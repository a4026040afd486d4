"""A worker SIGKILLed at each step boundary of the protocol: the run resumes on another worker
at the step it stopped in, and nothing is applied twice.

The model server holds the first call of the step after the boundary (found by the output
schema it asks for), so the kill lands exactly after the previous step committed. Real
`jeex-idea serve` processes share the tests' PostgreSQL and Valkey."""

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.conversation_double import conversation_responder
from tests.e2e.helpers import ServeProcess
from tests.e2e.test_conversation import IDEA
from tests.llm_double import ScriptedLLMServer
from tests.llm_double.script import requested_schema
from tests.reliability.test_processes import (
    TERMINAL,
    _env,
    _ready,
    _stop,
    _survivor,
    _token,
    _wait_status,
    _warm,
)

pytestmark = pytest.mark.reliability

QUESTIONS = frozenset({"questions"})
EDITS = frozenset({"edits", "summary", "stage_covered"})
CLOSING = frozenset({"message"})
STREAM = frozenset({"(streamed text)"})
_HOLD_SECONDS = 60.0


def _call_of(body: dict[str, Any]) -> frozenset[str]:
    schema = requested_schema(body)
    return STREAM if schema is None else frozenset(schema.get("properties", {}))


@dataclass(frozen=True)
class Boundary:
    name: str
    before: tuple[str, ...]
    say: str
    held: frozenset[str]
    check: Callable[[list[dict[str, Any]], dict[str, list[int]], dict[str, Any]], None]


def _kinds(chat: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [message for message in chat if message["kind"] == kind]


def _after_opening(chat: list[Any], versions: dict[str, list[int]], progress: Any) -> None:
    greetings = [m for m in _kinds(chat, "text") if m["author_agent"] == "product_manager"]
    assert len(greetings) == 1
    assert versions["idea"] == [1]
    assert len(_kinds(chat, "questions")) == 1


def _after_one_answer(chat: list[Any], versions: dict[str, list[int]], progress: Any) -> None:
    assert len(_kinds(chat, "section")) == 1
    assert versions["idea"] == [2, 1]
    assert len(_kinds(chat, "questions")) == 2
    assert chat[-1]["kind"] == "questions"


def _after_closing(chat: list[Any], versions: dict[str, list[int]], progress: Any) -> None:
    assert versions["idea"] == [2, 1]
    closings = [m for m in _kinds(chat, "text") if (m["payload"] or {}).get("next_stage")]
    assert len(closings) == 1
    assert progress["stages"][0]["status"] == "completed"


def _after_next(chat: list[Any], versions: dict[str, list[int]], progress: Any) -> None:
    _after_closing(chat, versions, progress)
    assert progress["stages"][1]["status"] == "in_progress"
    specs_questions = [m for m in _kinds(chat, "questions") if m["stage"] == "specs"]
    assert len(specs_questions) == 1


BOUNDARIES = [
    Boundary("open_project|ask", (), IDEA, QUESTIONS, _after_opening),
    Boundary(
        "classify|write_section", (IDEA,), "Ночью, для покупателей", STREAM, _after_one_answer
    ),
    Boundary("write_section|integrate", (IDEA,), "1.b", EDITS, _after_one_answer),
    Boundary("integrate|ask", (IDEA,), "1.b", QUESTIONS, _after_one_answer),
    Boundary("classify|close_stage", (IDEA, "1.b"), "Меня всё устраивает", CLOSING, _after_closing),
    Boundary("close_stage,open_next_stage|ask", (IDEA, "1.b"), "next", QUESTIONS, _after_next),
]


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=[b.name for b in BOUNDARIES])
async def test_a_worker_killed_at_a_step_boundary_resumes_without_repeating_a_step(
    boundary: Boundary,
    client: httpx.AsyncClient,
    resources: Resources,
    tmp_path: Path,
    endpoints: Endpoints,
) -> None:
    held: list[float] = []

    def hold(body: dict[str, Any]) -> float:
        if armed and _call_of(body) == boundary.held and not held:
            held.append(time.monotonic())
            return _HOLD_SECONDS
        return 0.0

    armed = False
    async with ScriptedLLMServer(responder=conversation_responder, hold=hold) as models:
        headers = await _token(client, resources, f"{boundary.name}@example.com".replace("|", "."))
        doomed = ServeProcess(_env(tmp_path / "a", endpoints, models), tmp_path / "a.log")
        survivor: ServeProcess | None = None
        try:
            await _ready(doomed)
            async with httpx.AsyncClient(base_url=doomed.base_url, headers=headers) as http:
                project = (await http.post("/api/v1/projects", json={"name": "Шаги"})).json()
                base = f"/api/v1/projects/{project['id']}"
                for text in boundary.before:
                    done = await _say(http, base, text)
                    assert done["status"] == "completed", done
                armed = True
                accepted = await http.post(f"{base}/messages", json={"content": boundary.say})
                run_id = accepted.json()["run"]["id"]
                deadline = time.monotonic() + 60
                while not held:
                    assert time.monotonic() < deadline, "the step after the boundary never began"
                    await asyncio.sleep(0.02)
            survivor = _survivor(tmp_path / "b", endpoints, models)
            await _warm(survivor)
            doomed.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(doomed.process.wait, 10)
            async with httpx.AsyncClient(base_url=survivor.base_url, headers=headers) as http:
                final = await _wait_status(http, base, run_id, TERMINAL, 120)
                chat = (await http.get(f"{base}/messages", params={"limit": 200})).json()["items"]
                versions = {
                    kind: [
                        v["version"]
                        for v in (await http.get(f"{base}/documents/{kind}/versions")).json()
                    ]
                    for kind in ("idea", "specs")
                }
                progress = (await http.get(f"{base}/progress")).json()
        finally:
            _stop(doomed, signal.SIGKILL)
            if survivor is not None:
                _stop(survivor, signal.SIGTERM)
    assert final["status"] == "completed", (final, survivor.output()[-3000:] if survivor else "")
    assert final["attempts"] == 2
    assert [m["content"] for m in chat if m["role"] == "user"] == [*boundary.before, boundary.say]
    boundary.check(chat, versions, progress)


async def _say(http: httpx.AsyncClient, base: str, text: str) -> dict[str, Any]:
    accepted = (await http.post(f"{base}/messages", json={"content": text})).json()
    return await _wait_status(http, base, accepted["run"]["id"], TERMINAL, 60)
