"""Serving an app over real TCP: in this process (uvicorn.Server) or as a separate replica."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from tests.e2e.helpers import free_port


@contextlib.asynccontextmanager
async def serve_in_process(app: FastAPI) -> AsyncIterator[str]:
    """``app`` (its lifespan already entered) on a loopback port of this event loop."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free_port(),
        log_config=None,
        access_log=False,
    )
    async with serve_config_in_process(config) as base_url:
        yield base_url


@contextlib.asynccontextmanager
async def serve_config_in_process(config: uvicorn.Config) -> AsyncIterator[str]:
    """A server as ``config`` describes it (e.g. as `serve` builds it), for an app whose
    lifespan the caller has entered already."""
    config.lifespan = "off"
    # Streams still open when a test ends are cut rather than waited for.
    config.timeout_graceful_shutdown = 5
    server = uvicorn.Server(config)
    # This process's signals stay with pytest.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


class Replica:
    """Another API process (``uvicorn --factory app.main:app_from_environment``), as a
    production replica runs: its own port, the same database and Redis."""

    def __init__(self, data_dir: Path, database_url: str, redis_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {name: value for name, value in os.environ.items() if not name.startswith("JEEX_")}
        plain = make_url(database_url).set(drivername="postgresql")
        env.update(
            {
                "JEEX_DATA_DIR": str(data_dir),  # the same signing key as the tests' app
                "JEEX_DATABASE_URL": plain.render_as_string(hide_password=False),
                "JEEX_REDIS_URL": redis_url,
                # Never contacted by what these tests do; a replica must name one.
                "JEEX_QDRANT_URL": "http://127.0.0.1:1",
                "JEEX_LOG_FORMAT": "console",
                "JEEX_LOG_LEVEL": "WARNING",
                "JEEX_EVENTS_SHUTDOWN_GRACE_SECONDS": "3",
            }
        )
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "app.main:app_from_environment",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "20",
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"replica exited early:\n{self.output()}")
                with contextlib.suppress(httpx.TransportError):
                    # 503 is fine: no Qdrant answers, but the API is up.
                    await client.get(f"{self.base_url}/health/live", timeout=2)
                    return
                await asyncio.sleep(0.1)
        raise AssertionError(f"replica not ready within {timeout}s:\n{self.output()}")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()
