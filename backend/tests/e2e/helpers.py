"""Run the real ``jeex-idea`` command as a user would, in its own process."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).with_name("jeex-idea"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cli_env(data_dir: Path, **variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("JEEX_")}
    env.update({"JEEX_DATA_DIR": str(data_dir), "JEEX_LOG_FORMAT": "console", "COLUMNS": "200"})
    env.update(variables)
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


class ServeProcess:
    """``own_group``: in a process group of its own, as a terminal runs it, so that
    :meth:`interrupt_group` is a Ctrl-C: the signal reaches the embedded servers too."""

    def __init__(self, env: dict[str, str], log_path: Path, *, own_group: bool = False) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [CLI, "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=own_group,
        )

    def interrupt_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 90) -> float:
        """Seconds from launch until /health/ready answered 200."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/health/ready", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve not ready within {timeout}s:\n{self.output()}")

    def wait_logged(self, event: str, timeout: float = 180) -> None:
        """Until the server logged ``event`` (it must log at INFO for most events)."""
        deadline = time.monotonic() + timeout
        while event not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"serve never logged {event} in {timeout}s")
            time.sleep(0.1)

    def terminate(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code
