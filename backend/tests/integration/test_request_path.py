"""What the request hot path keeps cheap, and what it must still guarantee: a bearer and its
user's profile read once per replica until the user's credentials or profile change (a
revocation or a sign-in reaches every replica with its next request), reads without
BEGIN/COMMIT, every rate limit of a request in one round trip, no broken pooled connection
handed out, no tracing cost unless spans are exported."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import delete, event, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.auth.login import link_identity
from app.auth.principals import Caller, credentials_stamp
from app.auth.providers import ProviderIdentity
from app.core.db import ReadOnlyUnitOfWorkError, read_only_unit_of_work, unit_of_work
from app.core.infrastructure import Endpoints
from app.core.rate_limit import renew_stamp
from app.core.stamped import StampedMemory
from app.core.telemetry import sampler, tracer_provider_installed
from app.resources import Resources
from app.users.models import User
from tests.conftest import client_for, make_settings
from tests.factories import add_member, auth_headers, create_project, create_user, seed_document
from tests.support.live_server import Replica

ME = "/api/v1/auth/me"
TOKENS = "/api/v1/auth/tokens"


@contextmanager
def statements(resources: Resources) -> Iterator[list[tuple[str, bool]]]:
    """Every statement the app's engine runs inside the block, and whether its connection was
    inside a transaction (BEGIN sent) when it ran."""
    seen: list[tuple[str, bool]] = []

    def after(conn: Any, cursor: Any, statement: str, *_: object) -> None:
        seen.append((statement, conn.connection.driver_connection.is_in_transaction()))

    engine = resources.engine.sync_engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after)


async def _personal_token(client: AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    created = await client.post(TOKENS, json={"name": "script"}, headers=headers)
    assert created.status_code == 201, created.text
    body: dict[str, str] = created.json()
    return body


async def test_a_revoked_personal_token_is_refused_by_another_replica_at_once(
    client: AsyncClient, resources: Resources, replica: Replica
) -> None:
    headers = auth_headers(resources, await create_user(resources, "revoke@example.com"))
    token = await _personal_token(client, headers)
    bearer = {"Authorization": f"Bearer {token['token']}"}
    async with httpx.AsyncClient(base_url=replica.base_url, timeout=10) as far:
        # Checked from scratch, then confirmed: from the third request on, the replica answers
        # from what it remembers.
        for _ in range(3):
            before = await far.get(ME, headers=bearer)
            assert before.status_code == 200, before.text
            assert before.json()["email"] == "revoke@example.com"

        revoked = await client.delete(f"{TOKENS}/{token['id']}", headers=headers)
        assert revoked.status_code == 204
        revoked_at = time.monotonic()
        first = await far.get(ME, headers=bearer)
        refused_in = time.monotonic() - revoked_at
        again = await far.get(ME, headers=bearer)
    assert first.status_code == 401, first.text
    assert first.json()["error"]["code"] == "invalid_credentials"
    assert again.status_code == 401
    assert refused_in < 1.0


async def test_access_changes_reach_another_replica_with_its_next_request(
    client: AsyncClient, resources: Resources, replica: Replica
) -> None:
    owner = auth_headers(resources, await create_user(resources, "owner@example.com"))
    project = await create_project(client, owner, "Shared")
    url = f"/api/v1/projects/{project['id']}"
    member_id = await create_user(resources, "member@example.com")
    await add_member(client, resources, owner, project["id"], "member@example.com", "editor")
    member = auth_headers(resources, member_id)
    edit = {"content": "# Idea\n\nchanged by hand"}
    async with httpx.AsyncClient(base_url=replica.base_url, timeout=10) as far:
        # Past the guard (an edit without If-Match is 428), twice: the replica now answers the
        # membership from memory.
        for _ in range(2):
            allowed = await far.put(f"{url}/documents/idea", json=edit, headers=member)
            assert allowed.status_code == 428, allowed.text

        demoted = await client.patch(
            f"{url}/members/{member_id}", json={"role": "viewer"}, headers=owner
        )
        assert demoted.json()["role"] == "viewer"
        refused = await far.put(f"{url}/documents/idea", json=edit, headers=member)
        assert refused.status_code == 403, refused.text
        for _ in range(2):
            assert (await far.get(url, headers=member)).json()["role"] == "viewer"

        removed = await client.delete(f"{url}/members/{member_id}", headers=member)
        assert removed.status_code == 204
        gone = await far.get(url, headers=member)
        assert gone.status_code == 404, gone.text

        for _ in range(2):
            assert (await far.get(url, headers=owner)).json()["name"] == "Shared"
        assert (await client.delete(url, headers=owner)).status_code == 204
        deleted = await far.get(url, headers=owner)
        assert deleted.status_code == 404, deleted.text


async def test_a_known_membership_costs_no_query(client: AsyncClient, resources: Resources) -> None:
    headers = auth_headers(resources, await create_user(resources, "member@example.com"))
    project = await create_project(client, headers, "Remembered")
    await seed_document(resources, project["id"], "idea", ["# Idea\n\nsomething to read"])
    url = f"/api/v1/projects/{project['id']}/documents/idea"
    assert (await client.get(url, headers=headers)).status_code == 200
    with statements(resources) as seen:
        document = await client.get(url, headers=headers)
    assert document.json()["content"] == "# Idea\n\nsomething to read"
    assert len(seen) == 1, seen
    assert "FROM document_version" in seen[0][0]


async def test_a_known_bearer_costs_no_query_and_a_personal_token_is_confirmed_once(
    client: AsyncClient, resources: Resources
) -> None:
    user_id = await create_user(resources, "cache@example.com")
    headers = auth_headers(resources, user_id)
    pat = {"Authorization": f"Bearer {(await _personal_token(client, headers))['token']}"}

    async def queries(headers: dict[str, str]) -> list[str]:
        with statements(resources) as seen:
            response = await client.get(ME, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["email"] == "cache@example.com"
        return [statement.split()[0] for statement, _ in seen]

    fresh_jwt = auth_headers(resources, user_id)
    # A new access token: its user and the profile looked up once, then nothing.
    assert await queries(fresh_jwt) == ["SELECT", "SELECT"]
    assert await queries(fresh_jwt) == []
    # A personal token: its row (and its "last used"), then once more to confirm it under the
    # stamp read before, then nothing. The profile is still the one remembered.
    assert await queries(pat) == ["SELECT", "UPDATE"]
    assert await queries(pat) == ["SELECT"]
    assert await queries(pat) == []

    # Stamps lost (Redis restarted empty): every bearer and profile is read from scratch again.
    await resources.redis.flushdb()
    assert await queries(fresh_jwt) == ["SELECT", "SELECT"]
    assert await queries(fresh_jwt) == []


async def test_a_user_removed_with_their_stamp_renewed_is_refused_at_once(
    client: AsyncClient, resources: Resources
) -> None:
    user_id = await create_user(resources, "gone@example.com")
    headers = auth_headers(resources, user_id)
    for _ in range(2):
        assert (await client.get(ME, headers=headers)).json()["email"] == "gone@example.com"
    async with resources.session_factory() as session:
        await session.execute(delete(User).where(User.id == user_id))
        await session.commit()
    # What a removal of a user must do besides deleting the row, as a revocation does.
    await renew_stamp(resources.redis, credentials_stamp(user_id))
    gone = await client.get(ME, headers=headers)
    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "invalid_credentials"


async def test_a_profile_change_reaches_another_replica_with_its_next_request(
    resources: Resources, replica: Replica
) -> None:
    user_id = await create_user(resources, "profile@example.com")
    headers = auth_headers(resources, user_id)

    async def sign_in_as(name: str) -> None:
        identity = ProviderIdentity("github", "4242", "profile@example.com", True, name, None)
        async with unit_of_work(resources) as session:
            assert await link_identity(session, resources.redis, identity) == user_id

    def identity_names(response: httpx.Response) -> list[str | None]:
        assert response.status_code == 200, response.text
        return [identity["name"] for identity in response.json()["identities"]]

    async with httpx.AsyncClient(base_url=replica.base_url, timeout=10) as far:
        for _ in range(2):  # the second from the replica's memory
            assert identity_names(await far.get(ME, headers=headers)) == []
        await sign_in_as("Old Name")
        for _ in range(2):
            assert identity_names(await far.get(ME, headers=headers)) == ["Old Name"]
        await sign_in_as("New Name")
        assert identity_names(await far.get(ME, headers=headers)) == ["New Name"]


def test_remembered_entries_are_bounded_and_forgotten_when_expired() -> None:
    cache: StampedMemory[str, Caller] = StampedMemory(max_entries=2, max_age_seconds=60)
    callers = [Caller(user_id=uuid4(), via_personal_token=False) for _ in range(3)]
    for number, caller in enumerate(callers):
        cache.remember(f"b{number}", caller, stamp="s")
    assert len(cache) == 2
    assert cache.get("b0") is None  # the least recently used went first
    remembered = cache.get("b2")
    assert remembered is not None
    assert (remembered.value, remembered.stamp) == (callers[2], "s")
    cache.remember("expired", callers[0], stamp="s", lifetime=0)
    assert cache.get("expired") is None
    cache.remember("short", callers[0], stamp="s", lifetime=0.05)
    assert cache.get("short") is not None
    time.sleep(0.06)
    assert cache.get("short") is None


async def test_reading_routes_send_no_begin_and_writing_routes_do(
    client: AsyncClient, resources: Resources
) -> None:
    headers = auth_headers(resources, await create_user(resources, "tx@example.com"))
    project = await create_project(client, headers, "Reads")
    await client.get(ME, headers=headers)  # the bearer is known from here on
    url = f"/api/v1/projects/{project['id']}"

    with statements(resources) as read:
        listed = await client.get("/api/v1/projects", headers=headers)
        shown = await client.get(url, headers=headers)
    assert [item["name"] for item in listed.json()] == ["Reads"]
    assert shown.json()["name"] == "Reads"
    assert read
    assert not any(in_transaction for _, in_transaction in read), read

    with statements(resources) as written:
        renamed = await client.patch(url, json={"name": "Written"}, headers=headers)
    assert renamed.json()["name"] == "Written"
    assert any(statement.startswith("UPDATE") for statement, _ in written)
    assert all(in_transaction for _, in_transaction in written), written


async def test_a_read_only_unit_of_work_refuses_orm_writes(resources: Resources) -> None:
    async with read_only_unit_of_work(resources) as session:
        session.add(User(email="never@example.com", name="never"))
        with pytest.raises(ReadOnlyUnitOfWorkError):
            await session.flush()


async def _evalsha_calls(resources: Resources) -> int:
    stats: dict[str, dict[str, Any]] = await resources.redis.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def test_a_project_request_counts_all_its_limits_in_one_round_trip(
    client: AsyncClient, resources: Resources
) -> None:
    user_id = await create_user(resources, "trip@example.com")
    headers = auth_headers(resources, user_id)
    project = await create_project(client, headers, "One trip")
    await client.get(ME, headers=headers)

    before = await _evalsha_calls(resources)
    response = await client.get(f"/api/v1/projects/{project['id']}", headers=headers)
    assert response.status_code == 200
    assert await _evalsha_calls(resources) - before == 1
    # Both counters moved: the user's and the member's in this project.
    assert int(await resources.redis.get(f"rl:user:{user_id}") or 0) >= 3
    member_key = f"proj:{project['id']}:rl:user:{user_id}"
    assert int(await resources.redis.get(member_key) or 0) >= 1


# With a timeout, pg_terminate_backend waits until the backends have exited (and closed their
# sockets): the connections are then known to be gone, which is what the pool must notice.
_TERMINATE = text(
    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
    "WHERE application_name = 'jeex-idea' AND pid <> pg_backend_pid()"
)


async def test_pooled_connections_closed_by_the_server_are_never_handed_out(
    tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = make_settings(tmp_path, database_pool_size=4, database_max_overflow=0)
    killer = create_async_engine(endpoints.database_url, poolclass=NullPool)
    try:
        async with client_for(settings, endpoints) as (client, resources):
            headers = auth_headers(resources, await create_user(resources, "pool@example.com"))
            project = await create_project(client, headers, "Pooled")
            url = f"/api/v1/projects/{project['id']}"
            # Fill the pool with connections, then end every one of them server-side.
            await _concurrently(client, url, headers, 8)
            async with killer.connect() as connection:
                terminated = (await connection.execute(_TERMINATE)).scalar_one()
            await asyncio.sleep(0.05)  # the loop reads the closed sockets
            statuses = [(await client.get(url, headers=headers)).status_code for _ in range(10)]
            statuses += [
                response.status_code for response in await _concurrently(client, url, headers, 8)
            ]
    finally:
        await killer.dispose()
    assert terminated >= 1
    assert statuses == [200] * 18


async def _concurrently(
    client: AsyncClient, url: str, headers: dict[str, str], count: int
) -> list[httpx.Response]:
    return list(await asyncio.gather(*(client.get(url, headers=headers) for _ in range(count))))


def test_nothing_is_traced_unless_spans_are_exported(app: Any) -> None:
    # The tests configure no exporter and install no tracer provider.
    assert not tracer_provider_installed()
    assert getattr(app, "_is_instrumented_by_opentelemetry", False) is False


def test_exported_traces_follow_the_caller_and_sample_the_rest() -> None:
    description: str = sampler(0.25).get_description()  # type: ignore[no-untyped-call]
    assert description.startswith("ParentBased{root:TraceIdRatioBased{0.25}")
