"""`jeex-idea serve` on a bare data dir, as a new user runs it."""

import contextlib
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from tests.e2e.helpers import ServeProcess, cli_env, free_port, run_cli

# The summary shows where the embedded Valkey listens, never its password.
REDIS_URL = re.compile(r"redis://:\*\*\*@(127\.0\.0\.1:\d+/0)")
SIGN_IN_LINE = re.compile(
    r"^Sign in: http://127\.0\.0\.1:(\d+)/sign-in\?code=([A-Za-z0-9_-]{43,})$"
)


def _sign_in_codes(output: str, port: int) -> list[str]:
    """The code of every `Sign in:` line, checking each names the server's own address."""
    codes = []
    for line in output.splitlines():
        if line.startswith("Sign in:"):
            match = SIGN_IN_LINE.match(line)
            assert match is not None, line
            assert int(match.group(1)) == port
            codes.append(match.group(2))
    return codes


def _redeem(base_url: str, code: str) -> httpx.Response:
    return httpx.post(f"{base_url}/api/v1/auth/sign-in-code", json={"code": code}, timeout=10)


def _signed_in_email(base_url: str, sign_in: httpx.Response) -> str:
    assert sign_in.status_code == 200, sign_in.text
    token = sign_in.json()["access_token"]
    me = httpx.get(f"{base_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    email: str = me.json()["email"]
    return email


def _embedded_redis(summary: str, data_dir: Path) -> redis.Redis:
    shown = REDIS_URL.search(summary)
    assert shown is not None, summary
    password = (data_dir / "redis" / "password").read_text().strip()
    assert password not in summary
    return redis.Redis.from_url(f"redis://:{password}@{shown.group(1)}")


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
        # No model set: start-up says so and names what to set.
        assert "no model configured: agents will answer llm_not_configured" in summary
        assert "JEEX_LLM_MODEL" in summary
        assert "next: open the Sign in link in a browser" in summary
        assert "jeex-idea chat" in summary
        assert "not configured" in summary
        assert str(data_dir) in summary
        _embedded_redis(summary, data_dir).set("survives", "restart")
        [first_code] = _sign_in_codes(summary, first.port)
        assert _signed_in_email(first.base_url, _redeem(first.base_url, first_code)) == (
            "owner@localhost"
        )
        assert _redeem(first.base_url, first_code).status_code == 401  # single-use

        # Beside the running serve: it finds the server's address and shares its database.
        link = run_cli("sign-in-link", env=env)
        assert link.returncode == 0, link.stderr
        [owner_code] = _sign_in_codes(link.stdout, first.port)
        assert link.stdout == f"Sign in: {first.base_url}/sign-in?code={owner_code}\n"
        for_keep = run_cli("sign-in-link", "--email", "keep@example.com", env=env)
        [keep_code] = _sign_in_codes(for_keep.stdout, first.port)
        assert _signed_in_email(first.base_url, _redeem(first.base_url, keep_code)) == (
            "keep@example.com"
        )
        assert _signed_in_email(first.base_url, _redeem(first.base_url, owner_code)) == (
            "owner@localhost"
        )
        unknown = run_cli("sign-in-link", "--email", "ghost@example.com", env=env)
        assert unknown.returncode == 1
        assert "no user with email ghost@example.com" in unknown.stderr
        password_file = data_dir / "redis" / "password"
        password = password_file.read_text()
        assert password_file.stat().st_mode & 0o777 == 0o600
    finally:
        assert first.terminate() == 0, first.output()
    assert _servers_using(data_dir) == []

    with_model = {**env, "JEEX_LLM_MODEL": "gpt-4.1-mini", "JEEX_LLM_API_KEY": "sk-not-shown"}
    second = ServeProcess(with_model, tmp_path / "second.log")
    try:
        cold_start = second.wait_ready()
        print(f"cold start of serve on an initialised data dir: {cold_start:.2f}s")
        assert "openai, tool output" in second.output()
        assert "gpt-4.1-mini at the provider's own API" in second.output()
        assert "no model configured" not in second.output()
        assert "sk-not-shown" not in second.output()
        assert _embedded_redis(second.output(), data_dir).get("survives") == b"restart"
        assert password_file.read_text() == password  # generated once, kept across restarts
        [second_code] = _sign_in_codes(second.output(), second.port)
        assert second_code != first_code  # a new code on every start
        again = run_cli("users", "create", "--email", "keep@example.com", env=env)
        assert again.returncode == 1
        assert "keep@example.com already exists" in again.stderr
    finally:
        assert second.terminate() == 0, second.output()
    assert _servers_using(data_dir) == []
    # The codes went to the terminal once each and into no log line.
    logs = first.output() + second.output()
    assert logs.count(first_code) == 1
    assert owner_code not in logs
    assert keep_code not in logs

    stopped = run_cli("sign-in-link", env=env)
    assert stopped.returncode == 1
    assert "no running `jeex-idea serve`" in stopped.stderr
    explicit = run_cli("sign-in-link", "--host", "0.0.0.0", "--port", "9000", env=env)
    assert explicit.returncode == 0, explicit.stderr
    assert explicit.stdout.startswith("Sign in: http://localhost:9000/sign-in?code=")


def test_sign_in_link_is_refused_in_production(tmp_path: Path) -> None:
    result = run_cli(
        "sign-in-link", "--port", "8000", env=cli_env(tmp_path, JEEX_ENVIRONMENT="production")
    )
    assert result.returncode == 1
    assert "local sign-in is available only in development" in result.stderr
    assert result.stdout == ""


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


def _open_event_stream(base_url: str, token: str) -> threading.Thread:
    """A client holding the project's event stream open until the server ends it."""
    headers = {"Authorization": f"Bearer {token}"}
    project = httpx.post(
        f"{base_url}/api/v1/projects", json={"name": "Open stream"}, headers=headers
    )
    assert project.status_code == 201, project.text
    opened = threading.Event()

    def hold() -> None:
        url = f"{base_url}/api/v1/projects/{project.json()['id']}/events"
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream("GET", url, headers=headers, timeout=30) as response,
        ):
            assert response.status_code == 200
            opened.set()
            for _ in response.iter_lines():
                pass

    reader = threading.Thread(target=hold, daemon=True)
    reader.start()
    assert opened.wait(10), "the event stream did not open"
    return reader


def _warnings_after(output: str, marker: str) -> list[str]:
    shutdown = output[output.index(marker) :]
    return [
        line
        for line in shutdown.splitlines()
        if re.search(r"\[(warning|error|critical)\b", line) or "Traceback" in line
    ]


@pytest.mark.parametrize("stop", ["sigterm", "ctrl-c"])
def test_serve_stops_within_five_seconds_without_warnings(tmp_path: Path, stop: str) -> None:
    """SIGTERM with a client on an event stream; Ctrl-C (the whole process group) right after
    start-up, while the embeddings model is still loading."""
    serve = ServeProcess(cli_env(tmp_path / "data"), tmp_path / "serve.log", own_group=True)
    try:
        serve.wait_ready()
        reader = None
        if stop == "sigterm":
            [sign_in_code] = _sign_in_codes(serve.output(), serve.port)
            token = _redeem(serve.base_url, sign_in_code).json()["access_token"]
            reader = _open_event_stream(serve.base_url, token)
        started = time.monotonic()
        if stop == "sigterm":
            serve.process.send_signal(signal.SIGTERM)
        else:
            serve.interrupt_group()
        code = serve.process.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        serve.terminate()
    output = serve.output()
    assert code == 0, output
    assert took <= 5, f"the stop took {took:.1f}s:\n{output}"
    assert output.rstrip().endswith("stopped"), output
    assert _warnings_after(output, "Shutting down") == []
    assert _servers_using(tmp_path / "data") == []
    if reader is not None:
        reader.join(timeout=5)
        assert not reader.is_alive(), "the event stream outlived the server"
