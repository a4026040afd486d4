"""Schemathesis against the live service's own /openapi.json, as a project member.

`jeex-idea serve` runs as users run it (every part embedded, in a fresh data dir); the fuzzer is
the real `st` command with every check on and a fixed seed. `{project_id}` is a project where
the caller is an editor, so requests reach the handlers instead of stopping at 404, and the
owner's operations (rename, delete, members) answer 403 there; the stateful phase exercises
those on projects the fuzzer creates itself. Ids nobody can know (run, user, token ids) stay
random and meet the documented 404.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import ServeProcess, cli_env, run_cli

pytestmark = pytest.mark.reliability

ST = str(Path(sys.executable).with_name("st"))
SEED = 20261126
MAX_EXAMPLES = 20
EXPECTED = ["2xx", "3xx", "401", "403", "404", "409", "412", "428", "429"]
EXPECTED_OR_400 = [*EXPECTED, "400"]


def _config(path: Path, token: str, project_id: str | None) -> Path:
    # TOML written by hand: the values are plain ASCII (a token and a UUID).
    parameters = f'[parameters]\n"path.project_id" = "{project_id}"\n' if project_id else ""
    path.write_text(
        f"""seed = {SEED}
max-stream-events = 3
request-timeout = 20

[headers]
Authorization = "Bearer {token}"

{parameters}
# Schema-valid requests may still meet the resource's state: a document edited meanwhile
# (412, optimistic concurrency) or an edit without the If-Match it needs (428), besides the
# defaults (a stage in the wrong state is 409).
[checks.positive_data_acceptance]
expected-statuses = {json.dumps(EXPECTED)}

# Two rules the schema cannot state: a sign-in callback is only valid for a state this server
# issued (else 400 login_failed), and a chat page goes one way, `before` or `after` (else 400).
[[operations]]
include-name = "GET /api/v1/auth/callback/{{provider}}"
checks.positive_data_acceptance.expected-statuses = {json.dumps(EXPECTED_OR_400)}

[[operations]]
include-name = "GET /api/v1/projects/{{project_id}}/messages"
checks.positive_data_acceptance.expected-statuses = {json.dumps(EXPECTED_OR_400)}

# An invitation answers 202 for any address; email-validator (behind EmailStr) refuses a few
# addresses the schema's "email" format lets through, such as special-use domains (422).
[[operations]]
include-name = "POST /api/v1/projects/{{project_id}}/members"
checks.positive_data_acceptance.expected-statuses = {json.dumps([*EXPECTED, "422"])}

# schemathesis 4.32.5's coverage phase offers `Last-Event-ID: 0` as schema-valid, although the
# documented pattern ^[0-9]{{1,20}}-[0-9]{{1,20}}$ refuses it; the app rightly answers 422.
[[operations]]
include-name = "GET /api/v1/projects/{{project_id}}/events"
checks.positive_data_acceptance.expected-statuses = {json.dumps([*EXPECTED, "422"])}
"""
    )
    return path


def _fuzz(config: Path, url: str, phases: str, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ST,
            "--config-file",
            str(config),
            "run",
            url,
            "--phases",
            phases,
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            "1",
            "--no-color",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


def _user_token(email: str, env: dict[str, str]) -> str:
    user = run_cli("users", "create", "--email", email, env=env, timeout=300)
    assert user.returncode == 0, user.stdout + user.stderr
    created = run_cli("tokens", "create", "--email", email, env=env, timeout=300)
    assert created.returncode == 0, created.stdout + created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("jxp_")
    return token


def test_the_live_api_keeps_to_its_schema_under_fuzzing(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path / "data",
        JEEX_LOG_LEVEL="WARNING",
        # The fuzzer sends far more than a person would; limits are covered elsewhere.
        JEEX_RATE_LIMIT_AUTH_PER_WINDOW="1000000",
        JEEX_RATE_LIMIT_USER_PER_WINDOW="1000000",
        JEEX_RATE_LIMIT_PROJECT_PER_WINDOW="1000000",
        # Streams the fuzzer opens end by themselves, quickly.
        JEEX_EVENTS_PING_SECONDS="0.2",
        JEEX_EVENTS_STREAM_MAX_SECONDS="1",
    )
    owner = {"Authorization": f"Bearer {_user_token('owner@example.com', env)}"}
    token = _user_token("fuzz@example.com", env)
    serve = ServeProcess(env, tmp_path / "serve.log")
    try:
        serve.wait_ready(timeout=300)
        headers = {"Authorization": f"Bearer {token}"}
        api = f"{serve.base_url}/api/v1/projects"
        project_id = httpx.post(api, json={"name": "Fuzzed"}, headers=owner).json()["id"]
        added = httpx.post(
            f"{api}/{project_id}/members",
            json={"email": "fuzz@example.com", "role": "editor"},
            headers=owner,
        )
        assert added.status_code == 202, added.text
        accepted = httpx.post(
            f"{serve.base_url}/api/v1/invitations/{added.json()['id']}/accept", headers=headers
        )
        assert accepted.status_code == 200, accepted.text
        said = httpx.post(
            f"{api}/{project_id}/messages",
            json={"content": "An idea to fuzz around"},
            headers=headers,
        )
        assert said.status_code == 202, said.text
        schema_url = f"{serve.base_url}/openapi.json"
        # Two runs: the project override would also bend the stateful phase's links (a
        # project it just created, then read back under another id).
        runs = {
            "examples,coverage,fuzzing": _config(tmp_path / "on-project.toml", token, project_id),
            "stateful": _config(tmp_path / "own-projects.toml", token, None),
        }
        for phases, config in runs.items():
            report = tmp_path / f"{config.stem}.ndjson"
            result = _fuzz(config, schema_url, phases, report)
            assert result.returncode == 0, f"{phases}:\n{result.stdout[-15000:]}"
            counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
            assert counts is not None, result.stdout[-3000:]
            generated, passed = int(counts.group(1)), int(counts.group(2))
            assert generated == passed > 0, result.stdout[-3000:]
            # Measured numbers for docs/reliability.md.
            print(f"schemathesis {phases}: {generated} cases, {passed} passed")
            assert report.read_text().strip(), "the fuzzer recorded nothing"
        # The fuzzer reached the handlers: it posted messages of its own into the project.
        chat = httpx.get(f"{api}/{project_id}/messages", params={"limit": 200}, headers=owner)
        assert chat.status_code == 200
        users = [m for m in chat.json()["items"] if m["role"] == "user"]
        assert len(users) > 1, users
    finally:
        assert serve.terminate() == 0, serve.output()[-5000:]
    assert "Traceback" not in serve.output(), serve.output()[-5000:]
