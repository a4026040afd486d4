"""The browser tests' stack on its own: the conversation it scripts, over HTTP, as the web app
would hold it (so the harness is known to work before any browser runs against it)."""

import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.web_stack import QUESTIONS, SECOND_EMAIL, SECTION_TAIL, WebStack

IDEA = "Хочу сделать приложение, через которое маленькие пекарни продают хлеб ночью."
TERMINAL = {"completed", "failed", "cancelled"}


class User:
    def __init__(self, base_url: str, sign_in_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        code = sign_in_url.split("code=", 1)[1]
        signed_in = self.http.post("/api/v1/auth/sign-in-code", json={"code": code})
        assert signed_in.status_code == 200, signed_in.text
        self.http.headers["Authorization"] = f"Bearer {signed_in.json()['access_token']}"

    def get(self, path: str, status: int = 200) -> Any:
        response = self.http.get(path)
        assert response.status_code == status, response.text
        return response.json()

    def wait(self, project: str, accepted: httpx.Response) -> dict[str, Any]:
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run"]["id"]
        deadline = time.monotonic() + 90
        while True:
            run: dict[str, Any] = self.get(f"/api/v1/projects/{project}/runs/{run_id}")
            if run["status"] in TERMINAL:
                assert run["status"] == "completed", run
                return run
            assert time.monotonic() < deadline, run
            time.sleep(0.05)

    def say(self, project: str, text: str) -> dict[str, Any]:
        accepted = self.http.post(f"/api/v1/projects/{project}/messages", json={"content": text})
        return self.wait(project, accepted)

    def last(self, project: str, kind: str) -> dict[str, Any]:
        items = self.get(f"/api/v1/projects/{project}/messages?limit=200")["items"]
        found: dict[str, Any] = next(m for m in reversed(items) if m["kind"] == kind)
        return found


def test_the_stack_holds_a_russian_conversation_for_two_users(tmp_path: Path) -> None:
    with WebStack(tmp_path) as stack:
        environment = stack.environment()
        assert environment["JEEX_E2E_BASE_URL"] == stack.base_url
        owner = User(stack.base_url, environment["JEEX_E2E_SIGN_IN_URL"])
        second = User(stack.base_url, environment["JEEX_E2E_SECOND_SIGN_IN_URL"])
        assert owner.get("/api/v1/auth/me")["email"] == "owner@localhost"
        assert second.get("/api/v1/auth/me")["email"] == SECOND_EMAIL

        project = owner.http.post("/api/v1/projects", json={"name": "Пекарни"}).json()["id"]
        owner.say(project, IDEA)
        assert owner.get(f"/api/v1/projects/{project}")["language"] == "ru"
        idea = owner.get(f"/api/v1/projects/{project}/documents/idea")
        assert (idea["version"], IDEA in idea["content"]) == (1, True)
        assert owner.last(project, "text")["author_agent"] == "product_manager"
        questions = owner.last(project, "questions")["payload"]["questions"]
        assert [[o["letter"] for o in q["options"]] for q in questions] == [list("abcde")] * 3
        assert [q["recommended"] for q in questions] == ["a", "b", "a"]
        assert questions[0]["options"][0]["text"] == QUESTIONS[0]["options"][0]

        started = time.monotonic()
        owner.say(project, "1.a, 2.b, 3.a")
        # The section comes in a word at a time, slowly enough to watch.
        assert time.monotonic() - started > 1.0
        section = owner.last(project, "section")
        assert SECTION_TAIL in section["content"]
        assert section["payload"]["selections"] == {"1": ["a"], "2": ["b"], "3": ["a"]}
        assert owner.get(f"/api/v1/projects/{project}/documents/idea")["version"] == 2

        done = owner.http.post(f"/api/v1/projects/{project}/stages/idea/complete")
        assert done.json()["status"] == "completed", done.text
        owner.wait(project, owner.http.post(f"/api/v1/projects/{project}/stages/specs/start"))
        assert owner.get(f"/api/v1/projects/{project}")["current_stage"] == "specs"
        assert owner.last(project, "questions")["author_agent"] == "engineering_standards"

        # The second user cannot tell the project exists.
        missing = second.get(f"/api/v1/projects/{project}", status=404)
        assert missing["error"]["code"] == "project_not_found"
        # Links are single-use, and more can be minted while the stack runs.
        again = User(stack.base_url, stack.mint_sign_in_url())
        assert again.get("/api/v1/auth/me")["email"] == "owner@localhost"
