"""Another OS user on the machine (`nobody`) gets nothing from a running `jeex-idea serve`: no
Valkey command without the password, no file of the data dir (PostgreSQL's, the AOF,
Qdrant's, the keys, exports an older version left world-readable), no socket.

It needs root, to start the service and then switch to `nobody`: CI and this machine's test
runs are root, so anywhere else it fails rather than skips.
"""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from app.core.embedded.postgres import EmbeddedPostgres
from tests.e2e.helpers import ServeProcess, cli_env

pytestmark = pytest.mark.reliability
NOBODY = 65534
REDIS_ADDRESS = re.compile(r"redis://:\*\*\*@127\.0\.0\.1:(\d+)/0")

# Run as `nobody` by the interpreter itself with no site-packages: the standard library only.
PROBE = r"""
import json, os, socket, sys
job = json.load(sys.stdin)
found = {"uid": os.getuid(), "readable": [], "listable": [], "socket_errors": {}}
for path in job["files"]:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        found["readable"].append(path)
    except OSError:
        pass
for path in job["dirs"]:
    try:
        os.listdir(path)
        found["listable"].append(path)
    except OSError:
        pass
if "control" in job:
    with open(job["control"], "rb") as handle:
        found["control"] = handle.read().decode()
if "redis_port" in job:
    with socket.create_connection(("127.0.0.1", job["redis_port"]), timeout=5) as conn:
        conn.sendall(b"PING\r\nGET tenant-secret\r\nKEYS *\r\n")
        conn.settimeout(2)
        reply = b""
        try:
            while reply.count(b"\r\n") < 3:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
        found["redis_reply"] = reply.decode(errors="replace")
for path in job["sockets"]:
    try:
        with socket.socket(socket.AF_UNIX) as unix:
            unix.connect(path)
        found["socket_errors"][path] = "connected"
    except OSError as error:
        found["socket_errors"][path] = type(error).__name__
json.dump(found, sys.stdout)
"""


def _as_nobody(job: dict[str, object]) -> dict[str, object]:
    interpreter = os.path.realpath(sys.executable)
    done = subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            *(interpreter, "-I", "-S", "-c", PROBE),
        ],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def _require_root() -> None:
    assert os.geteuid() == 0, (
        "this test must run as root (as CI does): it starts the embedded parts and then acts "
        "as the `nobody` user; it cannot show anything as an unprivileged user"
    )


def _open_down_to(path: Path, base: Path) -> None:
    """Let `nobody` walk down to ``path``, so that what stops it is the data dir's own mode,
    not pytest's private temp root."""
    for folder in [path, *path.parents]:
        folder.chmod(folder.stat().st_mode | 0o055)
        if folder == base:
            break


def test_another_os_user_gets_nothing_from_the_embedded_parts(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _require_root()
    _open_down_to(tmp_path, tmp_path_factory.getbasetemp())
    control = tmp_path / "control.txt"
    control.write_text("readable by all")
    control.chmod(0o644)

    # What an older version left: a world-readable data dir with an export and a Valkey log.
    data_dir = tmp_path / "data"
    stale = [data_dir / "exports" / "p1" / "archive.zip", data_dir / "redis" / "valkey.log"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("tenant data")
    for path in [data_dir, *data_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    # At DEBUG, so that a library logging the rendered valkey.conf would show here.
    env = cli_env(data_dir, JEEX_LOG_FORMAT="json", JEEX_LOG_LEVEL="DEBUG")
    serve = ServeProcess(env, tmp_path / "serve.log")
    try:
        serve.wait_ready()
        summary = serve.output()
        address = REDIS_ADDRESS.search(summary)
        assert address is not None, summary
        port = int(address.group(1))
        password = (data_dir / "redis" / "password").read_text().strip()
        assert password not in summary
        owner = redis.Redis(host="127.0.0.1", port=port, password=password)
        owner.set("tenant-secret", "project history")
        assert owner.get("tenant-secret") == b"project history"
        owner.close()

        everything = [data_dir, *data_dir.rglob("*")]
        sockets = [str(path) for path in everything if stat.S_ISSOCK(path.lstat().st_mode)]
        files = [str(path) for path in everything if path.is_file()]
        dirs = [str(path) for path in everything if path.is_dir()]
        names = {Path(path).name for path in files}
        # The probe covers every embedded part's files.
        assert {"password", "PG_VERSION", "appendonly.aof.manifest"} <= names, names
        assert any("/qdrant/" in path for path in files), files
        assert any("/keys/" in path or "signing" in path for path in files), files
        assert {".s.PGSQL.5432", "valkey.sock"} <= {Path(path).name for path in sockets}

        found = _as_nobody(
            {
                "files": files,
                "dirs": dirs,
                "control": str(control),
                "redis_port": port,
                "sockets": sockets,
            }
        )
    finally:
        assert serve.terminate() == 0, serve.output()
    assert password not in serve.output()

    print(
        f"as nobody: {len(files)} files, {len(dirs)} dirs, {len(sockets)} sockets tried; "
        f"valkey said {found['redis_reply']!r}"
    )
    assert found["uid"] == NOBODY
    assert found["control"] == "readable by all"  # the probe can read what is readable
    assert found["readable"] == []
    assert found["listable"] == []
    assert found["socket_errors"] == dict.fromkeys(sockets, "PermissionError")
    replies = str(found["redis_reply"]).split("\r\n")
    assert [reply.split(" ")[0] for reply in replies[:3]] == ["-NOAUTH"] * 3, replies
    assert "project history" not in str(found["redis_reply"])
    # As root the data dir is 0711: others may pass through (the server keeps root's groups,
    # so it passes as "other") but not list it; everything inside is closed, as found above.
    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o066 == 0
    repairs = [
        line for line in _json_lines(serve.output()) if line["event"] == "data_dir_permissions"
    ]
    assert len(repairs) == 1, serve.output()
    # The two files, their four folders; the data dir itself is counted apart.
    assert int(str(repairs[0]["fixed"])) >= len(stale) + 4, repairs
    assert repairs[0]["complete"] is True


def test_postgres_on_a_deep_data_dir_keeps_its_socket_from_other_users(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Past ~100 characters a socket path does not fit in the data dir: the wheel then puts
    the socket in a runtime folder it makes 0777, and the server trusts every local login."""
    _require_root()
    data_dir = tmp_path / ("deep-" * 14) / "data"
    data_dir.mkdir(parents=True)
    _open_down_to(data_dir, tmp_path_factory.getbasetemp())
    postgres = EmbeddedPostgres(data_dir)
    postgres.start()
    try:
        socket_dir = Path(postgres.socket_dir)
        assert socket_dir != postgres.pgdata  # the case this test is about
        found = _as_nobody({"files": [], "dirs": [], "sockets": [f"{socket_dir}/.s.PGSQL.5432"]})
        mode = stat.S_IMODE(socket_dir.stat().st_mode)
    finally:
        postgres.stop()
    assert found["socket_errors"] == {f"{socket_dir}/.s.PGSQL.5432": "PermissionError"}
    assert mode & 0o007 == 0


def _json_lines(output: str) -> list[dict[str, object]]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines
