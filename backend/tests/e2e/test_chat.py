"""`jeex-idea chat` as a person uses it: through a pseudo-terminal, against a real `serve` whose
scripted models hold a Russian conversation (tests/e2e/web_stack.py)."""

import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.e2e.helpers import CLI, cli_env, free_port, run_cli
from tests.e2e.test_web_stack import IDEA, User
from tests.e2e.web_stack import QUESTIONS, SECTION_TAIL, WebStack

PROMPT = "› "
# Fast enough for CI, slow enough that a section takes about a second to come in.
CHUNK_DELAY_SECONDS = 0.015
# Rich lays panels out to these; TERM=dumb keeps colour codes out of what the test reads.
TERMINAL = {"TERM": "dumb", "COLUMNS": "160", "LINES": "60"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    with WebStack(tmp_path_factory.mktemp("chat"), chunk_delay=CHUNK_DELAY_SECONDS) as running:
        yield running


def spawn_chat(stack: WebStack, *args: str, **variables: str) -> Any:
    env = cli_env(stack.data_dir, **TERMINAL, **variables)
    return pexpect.spawn(
        CLI, ["chat", *args], env=env, encoding="utf-8", dimensions=(60, 160), timeout=60
    )


def finish(child: Any) -> tuple[int, str]:
    """Wait for the exit; its code and the output not read yet."""
    child.expect(pexpect.EOF, timeout=30)
    rest = str(child.before)
    child.close()
    return int(child.exitstatus), rest


def owner_token(stack: WebStack) -> str:
    created = run_cli("tokens", "create", "--email", "owner@localhost", env=cli_env(stack.data_dir))
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("jxp_")
    return token


def test_a_new_project_from_idea_to_the_exported_zip(stack: WebStack, tmp_path: Path) -> None:
    child = spawn_chat(stack)
    try:
        child.expect_exact("signed in as owner@localhost")
        child.expect_exact(PROMPT)
        child.sendline("Ночные пекарни")
        child.expect_exact("created the project Ночные пекарни")
        child.expect_exact("Type your idea to start")
        child.expect_exact(PROMPT)

        child.sendline(IDEA)
        # The PM's restructured idea streams in, then its greeting, v1 and the questions.
        child.expect_exact("Product Manager is writing:")
        child.expect_exact("Product Manager: Здравствуйте!")
        child.expect_exact("idea v1 by Product Manager")
        child.expect_exact("Business Analyst asks")
        child.expect_exact(f"1. {QUESTIONS[0]['text']}")
        child.expect_exact("a) Маленькие пекарни  ★ recommended")
        child.expect_exact("e) Продажа оборудования")
        child.expect_exact("a) Каталог хлеба рядом  ★ recommended")
        child.expect_exact(PROMPT)

        child.sendline("1.b, 2.c")
        child.expect_exact("Business Analyst is writing:")
        child.expect_exact("По ответам пользователя")
        first_text_at = time.monotonic()
        # The chosen options, then the rest of the section, and only then the new version.
        child.expect_exact("Покупатели, которые не спят ночью")
        child.expect_exact("Реклама в приложении")
        child.expect_exact(SECTION_TAIL.split()[-1])
        last_text_at = time.monotonic()
        child.expect_exact("section «Раздел эксперта» is in")
        child.expect_exact("idea v2 by Product Manager")
        # Written a word at a time, the section is on the screen while it is being written.
        assert last_text_at - first_text_at > 0.3
        child.expect_exact("Venture Expert asks")
        child.expect_exact(PROMPT)

        archive = tmp_path / "out.zip"
        child.sendline(f"/export {archive}")
        child.expect(r"saved the export to (\S+) \(([\d,]+) bytes\)")
        assert child.match.group(1) == str(archive)
        assert int(child.match.group(2).replace(",", "")) == archive.stat().st_size
        child.expect_exact(PROMPT)
        child.sendline("/quit")
        code, _ = finish(child)
    finally:
        child.close(force=True)
    assert code == 0

    with zipfile.ZipFile(archive) as exported:
        [idea_path] = [name for name in exported.namelist() if name.endswith("01-idea/idea.md")]
        idea = exported.read(idea_path).decode()
    assert IDEA in idea
    assert "Реклама в приложении" in idea
    assert SECTION_TAIL in idea


def test_a_token_opens_an_existing_project_where_it_stands(stack: WebStack) -> None:
    token = owner_token(stack)
    owner = User(stack.base_url, stack.mint_sign_in_url())
    project = owner.http.post("/api/v1/projects", json={"name": "Пекарни с токеном"}).json()["id"]
    owner.say(project, IDEA)

    child = spawn_chat(stack, "--project", project, JEEX_TOKEN=token)
    try:
        child.expect_exact("signed in as owner@localhost")
        child.expect_exact("Пекарни с токеном")
        child.expect(r"idea ←\s+│ in progress\s+│ v1")
        # The log: the idea, the greeting, and the questions still open, in full.
        child.expect_exact("you: " + IDEA)
        child.expect_exact("Product Manager: Здравствуйте!")
        child.expect_exact("Business Analyst asks")
        child.expect_exact("b) Комиссия с каждого заказа  ★ recommended")
        child.expect_exact(PROMPT)

        child.sendline("/expert nobody")
        child.expect_exact("nobody is not an expert of the idea stage; choose one of: ")
        child.expect_exact("business_analyst (Business Analyst)")
        child.expect_exact(PROMPT)
        child.sendline("/doc idea")
        child.expect_exact("idea v1")
        child.expect_exact(PROMPT)

        child.sendline("ok")
        child.expect_exact("Business Analyst is writing:")
        child.expect_exact("Маленькие пекарни")
        child.expect_exact("idea v2 by Product Manager")
        child.expect_exact(PROMPT)
        child.sendline("/next")
        child.expect_exact("the idea stage is completed")
        child.expect_exact("Engineering Standards Expert asks")
        child.expect_exact(PROMPT)
        child.sendeof()
        code, rest = finish(child)
    finally:
        child.close(force=True)
    assert code == 0
    assert token not in rest
    assert owner.get(f"/api/v1/projects/{project}")["current_stage"] == "specs"


def test_a_refused_token_or_no_server_is_one_readable_line(stack: WebStack, tmp_path: Path) -> None:
    refused = spawn_chat(stack, JEEX_TOKEN="jxp_not-a-real-token")
    code, output = finish(refused)
    assert code == 1
    assert "error: the server refused JEEX_TOKEN" in output
    assert "jeex-idea tokens create" in output
    assert "jxp_not-a-real-token" not in output
    assert "Traceback" not in output

    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = spawn_chat(stack, "--url", nowhere, JEEX_TOKEN="jxp_any")
    code, output = finish(unreachable)
    assert (code, "Traceback" in output) == (1, False)
    assert f"error: cannot reach the server at {nowhere}" in output

    # A data dir no serve runs on: say how to get one.
    env = cli_env(tmp_path / "idle", **TERMINAL)
    idle = pexpect.spawn(CLI, ["chat"], env=env, encoding="utf-8", timeout=60)
    code, output = finish(idle)
    assert code == 1
    assert "no running `jeex-idea serve`" in output
    assert "--url" in output

    missing = spawn_chat(
        stack, "--project", "01900000-0000-7000-8000-000000000000", JEEX_TOKEN=owner_token(stack)
    )
    code, output = finish(missing)
    assert code == 1
    assert "error: no project 01900000-0000-7000-8000-000000000000 that you can open" in output
    assert "404 project_not_found" in output


def test_production_needs_a_token(stack: WebStack) -> None:
    env = cli_env(stack.data_dir, **TERMINAL, JEEX_ENVIRONMENT="production")
    child = pexpect.spawn(
        CLI, ["chat", "--url", stack.base_url], env=env, encoding="utf-8", timeout=60
    )
    code, output = finish(child)
    assert code == 1
    assert "set JEEX_TOKEN to a personal access token" in output
    assert "jeex-idea tokens create" in output


def test_a_project_picked_by_number_exports_into_a_folder(stack: WebStack, tmp_path: Path) -> None:
    # The earlier tests of this module made the projects listed here.
    child = spawn_chat(stack)
    try:
        child.expect_exact("Your projects")
        child.expect_exact("Ночные пекарни")
        child.expect_exact(PROMPT)
        child.sendline("99")
        child.expect(r"no project number 99; type 1 to \d+ or a name")
        child.expect_exact(PROMPT)
        child.sendline("1")
        child.expect(r"idea\S*\s+│ (in progress|completed)")
        child.expect_exact(PROMPT)
        child.sendline("/help")
        child.expect_exact("/export PATH")
        child.expect_exact(PROMPT)
        child.sendline(f"/export {tmp_path}")
        child.expect(r"saved the export to (\S+\.zip)")
        saved = Path(child.match.group(1))
        child.expect_exact(PROMPT)
        child.sendline("/export /no/such/folder/out.zip")
        child.expect_exact("error: no folder /no/such/folder to save the export in")
        child.expect_exact(PROMPT)
        child.sendintr()  # nothing is running: Ctrl-C leaves
        code, rest = finish(child)
    finally:
        child.close(force=True)
    assert code == 0
    assert "Traceback" not in rest
    assert saved.parent == tmp_path
    assert zipfile.is_zipfile(saved)

    # Ctrl-C before a project is open stops the command without a traceback.
    picking = spawn_chat(stack)
    picking.expect_exact(PROMPT)
    picking.sendintr()
    code, rest = finish(picking)
    assert code == 130
    assert "stopped" in rest
    assert "Traceback" not in rest
