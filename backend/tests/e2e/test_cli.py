import json
from pathlib import Path

from tests.e2e.helpers import cli_env, run_cli


def test_db_commands_move_the_schema_both_ways(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    fresh = run_cli("db", "current", env=env)
    assert fresh.returncode == 0, fresh.stderr
    assert "current: base" in fresh.stdout
    head = fresh.stdout.split("head: ")[1].strip()

    assert f"database at {head}" in run_cli("db", "upgrade", env=env).stdout
    assert "database at base" in run_cli("db", "downgrade", "base", env=env).stdout
    assert f"database at {head}" in run_cli("db", "upgrade", "head", env=env).stdout
    assert f"current: {head}" in run_cli("db", "current", env=env).stdout


def test_users_create_refuses_an_external_database_behind_head(
    tmp_path: Path, postgres_server: object, database_url: str
) -> None:
    from sqlalchemy.engine import make_url

    behind = make_url(database_url).set(drivername="postgresql", database="behind_head")
    import asyncio

    import asyncpg

    async def create() -> None:
        admin = make_url(database_url).set(drivername="postgresql", database="postgres")
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await connection.execute("DROP DATABASE IF EXISTS behind_head")
            await connection.execute("CREATE DATABASE behind_head")
        finally:
            await connection.close()

    asyncio.run(create())
    env = cli_env(tmp_path, JEEX_DATABASE_URL=behind.render_as_string(hide_password=False))
    result = run_cli("users", "create", "--email", "x@example.com", env=env)
    assert result.returncode == 1
    assert "run `jeex-idea db upgrade`" in result.stderr


def test_invalid_email_is_refused_without_a_traceback(tmp_path: Path) -> None:
    result = run_cli("users", "create", "--email", "not-an-email", env=cli_env(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_a_separate_worker_needs_every_part_by_url(tmp_path: Path) -> None:
    result = run_cli("worker", env=cli_env(tmp_path))
    assert result.returncode == 1
    for variable in ("JEEX_DATABASE_URL", "JEEX_REDIS_URL", "JEEX_QDRANT_URL"):
        assert variable in result.stderr
    assert result.stdout == ""


def test_tokens_create_prints_a_working_token_alone_on_the_last_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    assert run_cli("users", "create", "--email", "cli@example.com", env=env).returncode == 0
    result = run_cli("tokens", "create", "--email", "CLI@example.com", "--name", "laptop", env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.splitlines()[-1]
    assert token.startswith("jxp_")
    assert token.strip() == token
    assert len(token) > 40
    assert "laptop" in result.stderr

    unknown = run_cli("tokens", "create", "--email", "ghost@example.com", env=env)
    assert unknown.returncode == 1
    assert "no user with email ghost@example.com" in unknown.stderr


def test_openapi_prints_the_schema_sorted_without_starting_anything(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-created"
    # A database URL nothing listens on: the command must not reach for it.
    env = cli_env(data_dir, JEEX_DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")
    result = run_cli("openapi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("}\n")
    schema = json.loads(result.stdout)
    assert schema["info"]["title"] == "JEEX Idea API"
    assert "/api/v1/projects" in schema["paths"]
    assert result.stdout == json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert not data_dir.exists()
