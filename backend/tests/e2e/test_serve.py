"""`jeex-idea serve` on a bare data dir, as a new user runs it."""

import re
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from tests.e2e.helpers import ServeProcess, cli_env, free_port, run_cli

REDIS_URL = re.compile(r"redis://127\.0\.0\.1:\d+/0")


def _servers_using(data_dir: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline and process.info["name"] in {"postgres", "valkey-server"}:
            found.append(process.info["name"])
    return found


def test_serve_keeps_data_across_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = cli_env(data_dir)
    created = run_cli("users", "create", "--email", "Keep@Example.com", "--name", "Keep", env=env)
    assert created.returncode == 0, created.stderr
    assert "created user keep@example.com" in created.stdout

    first = ServeProcess(env, tmp_path / "first.log")
    try:
        first.wait_ready()
        ready = httpx.get(f"{first.base_url}/health/ready").json()
        assert ready["status"] == "ready"
        summary = first.output()
        assert summary.count("embedded") >= 3
        assert str(data_dir) in summary
        redis_url = REDIS_URL.search(summary)
        assert redis_url is not None, summary
        redis.Redis.from_url(redis_url.group(0)).set("survives", "restart")
    finally:
        assert first.terminate() == 0, first.output()
    assert _servers_using(data_dir) == []

    second = ServeProcess(env, tmp_path / "second.log")
    try:
        cold_start = second.wait_ready()
        print(f"cold start of serve on an initialised data dir: {cold_start:.2f}s")
        redis_url = REDIS_URL.search(second.output())
        assert redis_url is not None
        assert redis.Redis.from_url(redis_url.group(0)).get("survives") == b"restart"
        again = run_cli("users", "create", "--email", "keep@example.com", env=env)
        assert again.returncode == 1
        assert "keep@example.com already exists" in again.stderr
    finally:
        assert second.terminate() == 0, second.output()
    assert _servers_using(data_dir) == []


def test_serve_exits_quickly_naming_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://jeex:s3cret-pw@127.0.0.1:{free_port()}/jeex"
    env = cli_env(tmp_path, JEEX_DATABASE_URL=url)
    started = time.monotonic()
    result = run_cli("serve", "--port", str(free_port()), env=env, timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 15
    assert "cannot connect to the PostgreSQL database 'jeex' at 127.0.0.1" in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("JEEX_DATABASE_POOL_SIZE", "lots"), ("JEEX_DATABASE_URL", "mysql://u@h/db")],
)
def test_a_bad_setting_stops_start_up_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    result = run_cli("serve", env=cli_env(tmp_path, **{variable: value}), timeout=30)
    assert result.returncode == 1
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
