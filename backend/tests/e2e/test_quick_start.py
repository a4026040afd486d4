"""The README's quick start, walked as written in a fresh clone, up to the first `idea` version.

The commands come from the README itself (between its `quick-start` markers), so the test fails
when they stop working. Two things differ from a new user's first run, both to keep the test
to a minute: the clone reuses this checkout's `.venv` (`JEEX_VENV`; the same pyproject.toml, so
the script's own check finds nothing to install, and `JEEX_WEB_DIST_DIR` names the clone's
web app, as the clone's own install would) and, when present, its web app's packages and build. The
model is the test model server, standing in for OpenAI at `JEEX_LLM_BASE_URL`; the data dir is
a temporary one (`JEEX_DATA_DIR`).
"""

import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pexpect
import pytest

from tests.e2e.test_web_stack import IDEA
from tests.e2e.web_stack import ModelsThread

ROOT = Path(__file__).resolve().parents[3]
VENV = Path(sys.prefix)  # the virtual environment this test runs in
QUICK_START = re.compile(r"<!-- quick-start:begin -->(.*?)<!-- quick-start:end -->", re.DOTALL)
BASH_BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)
SIGN_IN = re.compile(r"^Sign in: (http://127\.0\.0\.1:8000/sign-in\?code=(\S+))$", re.MULTILINE)
SERVE_PORT = 8000
PROMPT = "› "


def quick_start_commands() -> list[str]:
    """Every command of the quick start's shell blocks, in order."""
    section = QUICK_START.search((ROOT / "README.md").read_text())
    assert section is not None, "README.md has no quick-start section"
    return [
        line.strip()
        for block in BASH_BLOCK.findall(section.group(1))
        for line in textwrap.dedent(block).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _venv_is_installed_from(pyproject: Path) -> bool:
    """Whether scripts/bootstrap.sh would find nothing to install (its stamp: the pyproject's
    SHA-256 and the extras). Otherwise the clone's serve would reinstall this shared .venv
    from the clone, which the test then deletes."""
    wanted = f"{hashlib.sha256(pyproject.read_bytes()).hexdigest()}-dev"
    stamp = VENV / ".jeex-installed"
    return stamp.is_file() and stamp.read_text().strip() == wanted


def _packages_are_installed_from(lockfile: Path) -> bool:
    """Whether scripts/frontend.sh would find the web app's packages current (its stamp)."""
    stamp = lockfile.parent / "node_modules" / ".jeex-lock-sha256"
    wanted = hashlib.sha256(lockfile.read_bytes()).hexdigest()
    return stamp.is_file() and stamp.read_text().strip() == wanted


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone of this checkout's HEAD, with its web app's packages and build."""
    target = tmp_path / "jeex-idea"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    if not _venv_is_installed_from(target / "backend" / "pyproject.toml"):
        pytest.fail(
            f"{VENV} is not installed from the committed backend/pyproject.toml; commit it and "
            "run scripts/test (or the bootstrap) first"
        )
    frontend = ROOT / "frontend"
    if (frontend / "node_modules").is_dir():
        if not _packages_are_installed_from(frontend / "package-lock.json"):
            # The clone's scripts/frontend.sh would run `npm ci` through the link, emptying
            # this checkout's node_modules.
            pytest.fail(
                f"{frontend / 'node_modules'} was not installed by scripts/frontend.sh (no "
                "current .jeex-lock-sha256); run scripts/test first"
            )
        (target / "frontend" / "node_modules").symlink_to(frontend / "node_modules")
    if (frontend / "dist").is_dir():
        shutil.copytree(frontend / "dist", target / "frontend" / "dist")
    return target


@pytest.fixture
def models() -> Iterator[ModelsThread]:
    thread = ModelsThread(chunk_delay=0.0)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


class Shell:
    """The user's terminal: exported variables, and the commands run from the clone."""

    def __init__(self, clone: Path, models: ModelsThread, data_dir: Path) -> None:
        self.clone = clone
        self.env = {
            name: value for name, value in os.environ.items() if not name.startswith("JEEX_")
        }
        self.env.update(
            {
                "JEEX_VENV": str(VENV),
                "JEEX_DATA_DIR": str(data_dir),
                # What the clone's own editable install would serve.
                "JEEX_WEB_DIST_DIR": str(clone / "frontend" / "dist"),
                "JEEX_LLM_BASE_URL": models.server.base_url,
                "TERM": "dumb",
                "COLUMNS": "160",
            }
        )
        self.serve: subprocess.Popen[str] | None = None
        self.serve_log = data_dir.parent / "serve.log"

    def export(self, command: str) -> None:
        for assignment in shlex.split(command)[1:]:
            name, _, value = assignment.partition("=")
            self.env[name] = value

    def start_serve(self, command: str) -> str:
        """Runs serve in the background until it is ready; its first sign-in code."""
        assert _port_is_free(SERVE_PORT), f"port {SERVE_PORT}, the README's, is in use"
        with self.serve_log.open("w") as log:
            self.serve = subprocess.Popen(
                shlex.split(command),
                cwd=self.clone,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            output = self.serve_log.read_text()
            assert self.serve.poll() is None, f"serve exited:\n{output}"
            link = SIGN_IN.search(output)
            if link is not None and self._ready():
                return link.group(2)
            time.sleep(0.2)
        raise AssertionError(f"serve was not ready in time:\n{self.serve_log.read_text()}")

    def _ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{SERVE_PORT}/health/ready"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def spawn(self, command: str) -> Any:
        words = shlex.split(command)
        # pexpect looks the program up from this process's directory, not from `cwd`.
        return pexpect.spawn(
            str(self.clone / words[0]),
            words[1:],
            cwd=str(self.clone),
            env=self.env,
            encoding="utf-8",
            dimensions=(60, 160),
            timeout=90,
        )

    def stop_serve(self) -> None:
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGINT)
            self.serve.wait(timeout=30)


def test_the_readme_quick_start_reaches_a_first_idea_version(
    clone: Path, models: ModelsThread, tmp_path: Path
) -> None:
    commands = quick_start_commands()
    assert [command.split()[0] for command in commands] == [
        "export",
        "./scripts/serve",
        "./scripts/jeex",
    ], f"the quick start changed; walk its new commands here: {commands}"
    shell = Shell(clone, models, tmp_path / "data")
    export, serve, chat = commands
    shell.export(export)
    assert shell.env["JEEX_LLM_MODEL"], "the quick start names a model"
    try:
        code = shell.start_serve(serve)
        summary = shell.serve_log.read_text()
        assert "no model configured" not in summary
        assert shell.env["JEEX_LLM_MODEL"] in summary

        name = shlex.split(chat)[-1]
        child = shell.spawn(chat)
        try:
            child.expect_exact("signed in as owner@localhost")
            child.expect_exact(f"created the project {name}")
            child.expect_exact(PROMPT)
            child.sendline(IDEA)
            child.expect_exact("idea v1 by Product Manager")
            child.expect_exact(PROMPT)
            child.sendline("/quit")
            child.expect(pexpect.EOF, timeout=30)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0

        # The web app's sign-in link serve printed works, and shows the same project.
        base = f"http://127.0.0.1:{SERVE_PORT}"
        signed_in = httpx.post(f"{base}/api/v1/auth/sign-in-code", json={"code": code})
        assert signed_in.status_code == 200, signed_in.text
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        projects = httpx.get(f"{base}/api/v1/projects", headers=headers).json()
        [project] = [item for item in projects if item["name"] == name]
        idea = httpx.get(
            f"{base}/api/v1/projects/{project['id']}/documents/idea", headers=headers
        ).json()
        assert idea["version"] == 1
        assert IDEA in idea["content"]
        page = httpx.get(f"{base}/")
        assert page.status_code == 200
        assert '<div id="root">' in page.text
    finally:
        shell.stop_serve()
    assert "stopped" in shell.serve_log.read_text()
