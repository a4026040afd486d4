"""Where a running ``jeex-idea serve`` listens, kept in the data dir for the CLI beside it.

``serve`` writes ``<data dir>/serve.json`` (host, port, its process id, and the port of its
embedded Valkey when it runs one) before it starts listening and removes it when it stops;
``jeex-idea sign-in-link`` reads it to print a link to that server, and ``jeex-idea doctor`` to
reach that Valkey (with the password file beside it) rather than start a second one. No secret
goes into it. A file left by a process that was killed outright names a dead process and is
ignored.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

FILE_NAME = "serve.json"


@dataclass(frozen=True, slots=True)
class ServeAddress:
    host: str
    port: int
    pid: int
    # The embedded Valkey's loopback port; None when serve uses JEEX_REDIS_URL.
    redis_port: int | None = None


def _path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


@contextmanager
def published(data_dir: Path, host: str, port: int, *, redis_port: int | None) -> Iterator[None]:
    """Publish this process's address for as long as the block runs."""
    path = _path(data_dir)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(
            {"host": host, "port": port, "pid": os.getpid(), "redis_port": redis_port}, handle
        )
    temporary.replace(path)
    try:
        yield
    finally:
        # Only our own: a second serve on the same data dir may have published since.
        if running_serve(data_dir) == ServeAddress(host, port, os.getpid(), redis_port):
            path.unlink(missing_ok=True)


def running_serve(data_dir: Path) -> ServeAddress | None:
    """The address of the serve running on this data dir, if there is one."""
    try:
        raw = json.loads(_path(data_dir).read_text())
        redis_port = raw.get("redis_port")
        address = ServeAddress(
            host=str(raw["host"]),
            port=int(raw["port"]),
            pid=int(raw["pid"]),
            redis_port=None if redis_port is None else int(redis_port),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with suppress(psutil.Error):
        if psutil.pid_exists(address.pid) and psutil.Process(address.pid).is_running():
            return address
    return None
