"""`jeex-idea doctor`, run as a user runs it, against real parts and the scripted model server.

Most tests share the session's PostgreSQL and Valkey as external parts (each run then pays only
for loading the embeddings model); one runs the fully embedded default.
"""

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from app.core.embedded.redis import EmbeddedRedis
from tests.e2e.helpers import ServeProcess, cli_env, free_port, run_cli
from tests.llm_double import ScriptedLLMServer
from tests.llm_double.script import Reply, TextReply

LLM_API_KEY = "sk-doctor-0123456789abcdefghij"
DATABASE_PASSWORD = "db-pass-4f1c9e"
FAST_MODEL_CALLS = {
    "JEEX_LLM_READ_TIMEOUT_SECONDS": "10",
    "JEEX_LLM_BACKOFF_INITIAL_SECONDS": "0.01",
    "JEEX_LLM_BACKOFF_MAX_SECONDS": "0.05",
    "JEEX_LLM_OUTPUT_RETRIES": "1",
}
ANSWERED = ("ok", "structured test call answered")
NO_REDIS = ("skipped", "test call skipped: redis unavailable")


def doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli("doctor", env=env, timeout=120)


async def doctor_async(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Off the event loop: the scripted model server runs on it and must answer the doctor.
    return await asyncio.to_thread(doctor, env)


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """The report table as {part: (status, detail)}, wrapped details joined again."""
    found: dict[str, tuple[str, str]] = {}
    last = ""
    for line in stdout.splitlines():
        if not line.startswith("│"):
            continue
        part, status, detail = (cell.strip() for cell in line.strip("│").split("│"))
        if part:
            found[part] = (status, detail)
            last = part
        else:
            previous_status, previous = found[last]
            found[last] = (previous_status, f"{previous} {detail}")
    return found


def fixes(stdout: str) -> dict[str, str]:
    """The "how to fix <part>: ..." lines as {part: fix}."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("how to fix "):
            part, _, fix = line.removeprefix("how to fix ").partition(": ")
            found[part] = fix
    return found


def external_parts(
    tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> dict[str, str]:
    """The session's own PostgreSQL (behind a password it does not check: the socket trusts
    local users) and Valkey, as external parts."""
    url = make_url(database_url).set(password=DATABASE_PASSWORD)
    return cli_env(
        tmp_path / "data",
        JEEX_DATABASE_URL=url.render_as_string(hide_password=False),
        JEEX_REDIS_URL=redis_server.url,
    )


def with_model(env: dict[str, str], server: ScriptedLLMServer, model: str) -> dict[str, str]:
    return env | FAST_MODEL_CALLS | {"JEEX_LLM_BASE_URL": server.base_url, "JEEX_LLM_MODEL": model}


def servers_using(data_dir: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline and process.info["name"] in {"postgres", "valkey-server"}:
            found.append(process.info["name"])
    return found


def doctor_calls(server: ScriptedLLMServer) -> list[dict[str, Any]]:
    return [exchange.body for exchange in server.exchanges() if "ready" in str(exchange.body)]


async def test_a_healthy_embedded_setup_passes_every_check(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with ScriptedLLMServer() as server:
        result = await doctor_async(with_model(cli_env(data_dir), server, "scripted"))
        calls = doctor_calls(server)

    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert list(table) == [
        "settings", "data dir", "database", "redis", "qdrant", "embeddings", "model"
    ]  # fmt: skip
    assert {status for status, _ in table.values()} == {"ok"}, table
    assert "(created, writable, mode 0700)" in table["data dir"][1]
    assert "embedded PostgreSQL database 'jeex'" in table["database"][1]
    assert "serve upgrades it on start" in table["database"][1]
    assert "embedded Valkey" in table["redis"][1]
    assert str(data_dir / "qdrant") in table["qdrant"][1]
    embeddings = table["embeddings"][1]
    assert "sentence-transformers/all-MiniLM-L6-v2" in embeddings
    assert "384 dimensions" in embeddings
    model = table["model"][1]
    assert f"openai scripted at {server.base_url}, tool output" in model
    assert "structured test call answered" in model
    # One call, in tool mode, for the doctor's own one-field schema.
    assert len(calls) == 1
    assert calls[0]["tools"][0]["function"]["parameters"]["properties"]["status"]["const"] == (
        "ready"
    )
    assert "every check passed" in result.stdout
    assert fixes(result.stdout) == {}
    # The embedded servers it started are gone again, and the password never showed.
    assert servers_using(data_dir) == []
    assert (data_dir / "redis" / "password").read_text().strip() not in result.stdout


@pytest.mark.parametrize(
    ("part", "variable", "url", "model"),
    [
        (
            "database",
            "JEEX_DATABASE_URL",
            "postgresql://jeex:{secret}@127.0.0.1:{port}/jeex",
            ANSWERED,
        ),
        # The model's test call needs Redis for its limits, so it is not made.
        ("redis", "JEEX_REDIS_URL", "redis://:{secret}@127.0.0.1:{port}/0", NO_REDIS),
        ("qdrant", "JEEX_QDRANT_URL", "http://admin:{secret}@127.0.0.1:{port}", ANSWERED),
    ],
)
async def test_a_part_that_does_not_answer_fails_naming_its_variable(
    tmp_path: Path,
    database_url: str,
    redis_server: EmbeddedRedis,
    part: str,
    variable: str,
    url: str,
    model: tuple[str, str],
) -> None:
    secret = f"{part}-secret-4f1c9e"
    async with ScriptedLLMServer() as server:
        env = with_model(external_parts(tmp_path, database_url, redis_server), server, "scripted")
        env[variable] = url.format(secret=secret, port=free_port())
        result = await doctor_async(env)

    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table[part][0] == "failed", table
    assert table["model"][0] == model[0], table
    assert model[1] in table["model"][1]
    others = {name: status for name, (status, _) in table.items() if name not in (part, "model")}
    assert set(others.values()) == {"ok"}, table
    assert list(fixes(result.stdout)) == [part]
    assert variable in fixes(result.stdout)[part]
    assert "1 of 7 checks failed" in result.stdout
    assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_model_every_part_passes_and_the_hint_says_what_to_set(
    tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> None:
    result = doctor(external_parts(tmp_path, database_url, redis_server))

    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table["model"][0] == "not configured"
    assert "agents will not answer" in table["model"][1]
    assert "no model configured: agents will answer llm_not_configured. Set JEEX_LLM_MODEL" in (
        result.stdout
    )
    assert all(status == "ok" for name, (status, _) in table.items() if name != "model"), table


async def test_an_unreachable_model_endpoint_fails_naming_the_base_url(
    tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> None:
    env = external_parts(tmp_path, database_url, redis_server) | {
        "JEEX_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "JEEX_LLM_MODEL": "any-model",
    }

    result = await doctor_async(env)

    assert result.returncode == 1, result.stdout + result.stderr
    status, detail = rows(result.stdout)["model"]
    assert status == "failed"
    assert "cannot connect (ConnectError)" in detail
    assert "check JEEX_LLM_BASE_URL" in fixes(result.stdout)["model"]


async def test_a_model_name_the_provider_does_not_offer_fails_listing_what_it_offers(
    tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> None:
    offered = ["scripted-large", "scripted-small", "other-model"]
    async with ScriptedLLMServer(known_models=offered) as server:
        env = with_model(
            external_parts(tmp_path, database_url, redis_server), server, "scripted-tiny"
        )
        result = await doctor_async(env)

    assert result.returncode == 1, result.stdout + result.stderr
    status, detail = rows(result.stdout)["model"]
    assert status == "failed"
    assert "llm_request_rejected" in detail
    assert "model_not_found" in detail or "does not exist" in detail
    fix = fixes(result.stdout)["model"]
    assert "JEEX_LLM_MODEL names 'scripted-tiny', which the provider does not offer" in fix
    assert "scripted-small" in fix
    assert "scripted-large" in fix


def always_text(body: dict[str, Any]) -> Reply:
    """A model that never gives a structured answer, whatever it is asked."""
    return TextReply("I would rather just chat about it.")


async def test_a_model_that_cannot_give_the_structured_output_fails_suggesting_another_mode(
    tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> None:
    async with ScriptedLLMServer(responder=always_text) as server:
        env = with_model(external_parts(tmp_path, database_url, redis_server), server, "scripted")
        result = await doctor_async(env)
        attempts = len(doctor_calls(server))

    assert result.returncode == 1, result.stdout + result.stderr
    status, detail = rows(result.stdout)["model"]
    assert status == "failed"
    assert "llm_invalid_output" in detail
    fix = fixes(result.stdout)["model"]
    assert "in tool mode, even after 1 retry" in fix
    assert "JEEX_LLM_OUTPUT_MODE=native or JEEX_LLM_OUTPUT_MODE=prompted" in fix
    assert attempts == 2  # the answer, and the one retry with the errors fed back


async def test_each_distinct_model_gets_one_test_call_leaving_no_budget_and_no_secret_shown(
    tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> None:
    redis = Redis.from_url(redis_server.url)
    before = set(await redis.keys("*llm*"))
    async with ScriptedLLMServer() as server:
        env = with_model(external_parts(tmp_path, database_url, redis_server), server, "scripted")
        env["JEEX_LLM_API_KEY"] = LLM_API_KEY
        agent_models = {"qa_expert": "scripted-small", "risk_manager": "scripted-small"}
        env["JEEX_LLM_AGENT_MODELS"] = json.dumps(agent_models)
        result = await doctor_async(env)
        called = sorted(str(body["model"]) for body in doctor_calls(server))
    after = set(await redis.keys("*llm*"))
    await redis.aclose()

    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table["model"][0] == "ok"
    status, detail = table["model (qa_expert, risk_manager)"]
    assert status == "ok"
    assert "scripted-small" in detail
    assert "although the provider does not list it" in detail  # the double lists "scripted"
    assert called == ["scripted", "scripted-small"]
    # The calls' budget reservations and slots are gone again.
    assert after == before
    output = result.stdout + result.stderr
    redis_password = urlsplit(redis_server.url).password
    for secret in (LLM_API_KEY, DATABASE_PASSWORD, redis_password):
        assert secret
        assert secret not in output
    assert "redis://:***@127.0.0.1" in table["redis"][1]


def test_a_bad_setting_is_one_failed_row_naming_the_variable(tmp_path: Path) -> None:
    result = doctor(cli_env(tmp_path / "data", JEEX_LLM_OUTPUT_MODE="telepathy"))

    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    status, detail = table["settings"]
    assert status == "failed"
    assert "JEEX_LLM_OUTPUT_MODE" in detail
    assert {status for name, (status, _) in table.items() if name != "settings"} == {"skipped"}
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_an_external_database_behind_head_fails_with_the_upgrade_command(
    tmp_path: Path, database_url: str, redis_server: EmbeddedRedis
) -> None:
    import asyncpg

    async def create_empty_database() -> None:
        admin = make_url(database_url).set(drivername="postgresql", database="postgres")
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await connection.execute("DROP DATABASE IF EXISTS doctor_behind")
            await connection.execute("CREATE DATABASE doctor_behind")
        finally:
            await connection.close()

    asyncio.run(create_empty_database())
    env = external_parts(tmp_path, database_url, redis_server)
    behind = make_url(database_url).set(drivername="postgresql", database="doctor_behind")
    env["JEEX_DATABASE_URL"] = behind.render_as_string(hide_password=False)

    result = doctor(env)

    assert result.returncode == 1, result.stdout + result.stderr
    status, detail = rows(result.stdout)["database"]
    assert status == "failed"
    assert "schema at no revision, the code expects" in detail
    assert fixes(result.stdout)["database"] == "run `jeex-idea db upgrade`"


async def test_beside_a_running_serve_it_uses_serve_s_parts_and_leaves_them_running(
    tmp_path: Path,
) -> None:
    async with ScriptedLLMServer() as server:
        env = with_model(cli_env(tmp_path / "data"), server, "scripted")
        serve = ServeProcess(env, tmp_path / "serve.log")
        try:
            # Off the loop: serve's readiness asks the model server, which runs on it.
            await asyncio.to_thread(serve.wait_ready)
            result = await doctor_async(env)
            ready_after = await asyncio.to_thread(
                httpx.get, f"{serve.base_url}/health/ready", timeout=10
            )
        finally:
            stopped = await asyncio.to_thread(serve.terminate)
        calls = doctor_calls(server)

    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    where = f"(pid {serve.process.pid}, port {serve.port})"
    owner = f"the running serve {where}"
    # Its Valkey, reached with the password file, carries the model's test call.
    status, detail = table["redis"]
    assert status == "ok"
    assert detail.startswith("Valkey ")
    assert detail.endswith(f"PING answered, the running serve's {where}")
    assert table["model"][0] == "ok"
    assert "structured test call answered" in table["model"][1]
    assert len(calls) == 1
    # Qdrant's folder is locked by serve: its readiness answers for it.
    assert table["qdrant"] == ("ok", f"embedded, in use by {owner}, which reports it ready")
    assert table["database"][0] == "ok"
    assert "schema at head" in table["database"][1]
    password = (tmp_path / "data" / "redis" / "password").read_text().strip()
    assert password not in result.stdout + result.stderr
    # Its Valkey and Qdrant folder were not touched: serve still answers, and stops cleanly.
    assert ready_after.status_code == 200, ready_after.text
    assert stopped == 0, serve.output()
