"""A stream's life: replay, tail, pings, its end, and what it leaves behind (nothing)."""

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import anyio
import httpx
import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from app.core.embedded.redis import EmbeddedRedis
from app.events.publisher import stream_key
from app.events.schemas import ExpertSectionDelta, Ping, RunCompleted
from app.events.streams import STREAM_CLIENT_NAME, EventStreams
from app.resources import Resources
from tests.conftest import make_settings
from tests.integration.events.conftest import (
    EventReader,
    Team,
    bearer,
    open_events,
    tuned_app,
    wait_until,
)
from tests.support.asgi_stream import StreamingASGITransport
from tests.support.live_server import serve_in_process


async def _member() -> bool:
    """The access check of a stream whose holder stays a member throughout."""
    return True


async def _publish(resources: Resources, team: Team, count: int) -> list[str]:
    return [
        await resources.events.publish(RunCompleted(project_id=team.project_id, run_id=uuid4()))
        for _ in range(count)
    ]


async def _ids(stream: EventReader, count: int) -> list[str | None]:
    return [(await stream.next_event()).id for _ in range(count)]


async def test_replay_starts_after_last_event_id_then_tails(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    first, second, third = await _publish(resources, team, 3)
    headers = {**team.viewer, "Last-Event-ID": first}
    async with open_events(stream_client, team.project_id, headers=headers) as stream:
        assert await _ids(stream, 2) == [second, third]
        [fourth] = await _publish(resources, team, 1)
        assert await _ids(stream, 1) == [fourth]


async def test_the_query_parameter_resumes_and_the_header_wins_over_it(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    first, second, third = await _publish(resources, team, 3)
    params = {"last_event_id": first}
    async with open_events(stream_client, team.project_id, headers=team.viewer, params=params) as s:
        assert await _ids(s, 2) == [second, third]
    headers = {**team.viewer, "Last-Event-ID": second}
    async with open_events(stream_client, team.project_id, headers=headers, params=params) as s:
        assert await _ids(s, 1) == [third]


async def test_zero_replays_from_the_start_in_the_header_and_the_query(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    published = await _publish(resources, team, 3)
    for headers, params in (
        (team.viewer, {"last_event_id": "0"}),
        (team.viewer, {"last_event_id": "0-0"}),
        ({**team.viewer, "Last-Event-ID": "0"}, None),
    ):
        async with open_events(
            stream_client, team.project_id, headers=headers, params=params
        ) as stream:
            assert await _ids(stream, 3) == published


async def test_without_a_resume_point_the_stream_starts_now(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    await _publish(resources, team, 2)
    async with open_events(stream_client, team.project_id, headers=team.viewer) as stream:
        [fresh] = await _publish(resources, team, 1)
        assert await _ids(stream, 1) == [fresh]


async def test_the_progress_snapshot_names_the_id_to_resume_from(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    url = f"/api/v1/projects/{team.project_id}/progress"
    assert (await stream_client.get(url, headers=team.viewer)).json()["last_event_id"] is None
    [seen] = await _publish(resources, team, 1)
    snapshot = (await stream_client.get(url, headers=team.viewer)).json()
    assert snapshot["last_event_id"] == seen
    [after] = await _publish(resources, team, 1)
    params = {"last_event_id": snapshot["last_event_id"]}
    async with open_events(stream_client, team.project_id, headers=team.viewer, params=params) as s:
        assert await _ids(s, 1) == [after]


async def test_a_malformed_last_event_id_is_422(
    stream_client: httpx.AsyncClient, team: Team
) -> None:
    for headers, params in (
        ({**team.viewer, "Last-Event-ID": "$"}, None),
        (team.viewer, {"last_event_id": "12-x"}),
        (team.viewer, {"last_event_id": "00"}),
    ):
        async with open_events(
            stream_client, team.project_id, headers=headers, params=params
        ) as stream:
            body = json.loads(await stream.response.aread())
        assert stream.response.status_code == 422
        assert body["error"]["code"] == "validation_error"


async def test_a_last_event_id_beyond_redis_range_is_422_and_logs_nothing(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    await _publish(resources, team, 1)
    beyond = ("99999999999999999999-0", "18446744073709551616-0", "0-18446744073709551616")
    cases: list[tuple[dict[str, str], dict[str, str] | None]] = [
        ({**team.viewer, "Last-Event-ID": value}, None) for value in beyond
    ]
    cases += [(team.viewer, {"last_event_id": value}) for value in beyond]
    with capture_logs() as logs:
        for headers, params in cases:
            async with open_events(
                stream_client, team.project_id, headers=headers, params=params
            ) as stream:
                body = json.loads(await stream.response.aread())
            assert stream.response.status_code == 422
            assert body["error"]["code"] == "validation_error"
            [problem] = body["error"]["details"]
            assert problem["loc"] == (
                ["header", "Last-Event-ID"] if params is None else ["query", "last_event_id"]
            )
            assert "18446744073709551615" in problem["msg"]
    assert [entry for entry in logs if entry.get("exc_info") or entry["log_level"] != "info"] == []
    # The largest id Redis takes is still a resume point: nothing comes after it.
    headers = {**team.viewer, "Last-Event-ID": "18446744073709551615-18446744073709551615"}
    async with open_events(stream_client, team.project_id, headers=headers) as stream:
        assert stream.response.status_code == 200


async def test_pings_come_at_the_interval_and_carry_the_project_id(
    resources: Resources, team: Team, tmp_path: Path
) -> None:
    async with (
        tuned_app(tmp_path, resources.endpoints, events_ping_seconds=0.2) as (app, own),
        httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="https://t") as http,
        open_events(http, team.project_id, headers=bearer(own, team.viewer_id)) as stream,
    ):
        started = asyncio.get_running_loop().time()
        pings = [await stream.next(timeout=5) for _ in range(3)]
        elapsed = asyncio.get_running_loop().time() - started
    assert {ping.event for ping in pings} == {"ping"}
    assert {ping.id for ping in pings} == {None}  # a ping never moves Last-Event-ID
    assert [Ping.model_validate_json(ping.data).project_id for ping in pings] == [
        team.project_id
    ] * 3
    assert elapsed >= 0.5


async def test_a_stream_ends_at_its_lifetime_with_a_reconnect_hint(
    resources: Resources, team: Team, tmp_path: Path
) -> None:
    async with (
        tuned_app(tmp_path, resources.endpoints, events_stream_max_seconds=1) as (app, own),
        httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="https://t") as http,
        open_events(http, team.project_id, headers=bearer(own, team.viewer_id)) as stream,
    ):
        last = await stream.next(timeout=5)
        with pytest.raises(StopAsyncIteration):  # the server closed the stream after it
            await stream.next(timeout=5)
        assert own.event_streams.open_streams == 0
    assert last.retry is not None
    assert 1_000 <= last.retry < 5_000
    assert any("lifetime" in comment for comment in last.comments)


async def test_a_full_server_refuses_more_streams_with_503(
    resources: Resources, team: Team, tmp_path: Path
) -> None:
    async with (
        tuned_app(tmp_path, resources.endpoints, events_max_streams=1) as (app, own),
        httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="https://t") as http,
    ):
        headers = bearer(own, team.viewer_id)
        async with open_events(http, team.project_id, headers=headers) as first:
            await _publish(resources, team, 1)
            await first.next_event()  # the first stream is reading
            async with open_events(http, team.project_id, headers=headers) as second:
                body = json.loads(await second.response.aread())
            assert second.response.status_code == 503
            assert second.response.headers["retry-after"] == "5"
            assert body["error"]["code"] == "event_streams_busy"


async def _client_names(redis: Redis) -> list[str]:
    return [client["name"] for client in await redis.client_list()]


async def test_a_client_that_disconnects_mid_stream_leaves_no_task_and_no_connection(
    live_url: str, resources: Resources, team: Team, redis: Redis
) -> None:
    streams = resources.event_streams
    # A first stream starts what lives for the whole process (sse-starlette's one shutdown
    # watcher per event loop), so that the count below is about streams only.
    async with (
        httpx.AsyncClient(base_url=live_url) as http,
        open_events(http, team.project_id, headers=team.viewer) as warm_up,
    ):
        await _publish(resources, team, 1)
        await warm_up.next_event()
    await wait_until(lambda: streams.open_streams == 0)
    readers_before = (await _client_names(redis)).count(STREAM_CLIENT_NAME)
    tasks_before = asyncio.all_tasks()

    async with (
        httpx.AsyncClient(base_url=live_url) as http,
        open_events(http, team.project_id, headers=team.viewer) as stream,
    ):
        await _publish(resources, team, 1)
        await stream.next_event()
        assert streams.open_streams == 1
        assert streams.connections_in_use() == 1
        # Blocked in XREAD on its own connection, right now.
        assert (await _client_names(redis)).count(STREAM_CLIENT_NAME) == readers_before + 1
    # Leaving the block dropped the TCP connection mid-stream.

    await wait_until(lambda: streams.open_streams == 0)
    await wait_until(lambda: streams.connections_in_use() == 0)
    leftover = {task for task in asyncio.all_tasks() - tasks_before if not task.done()}
    assert leftover == set()
    # The interrupted read closed its connection: Redis no longer sees it either.
    assert (await _client_names(redis)).count(STREAM_CLIENT_NAME) <= readers_before


async def test_a_client_that_stops_reading_is_cut_off_by_the_send_timeout(
    resources: Resources, team: Team, tmp_path: Path
) -> None:
    async with (
        tuned_app(tmp_path, resources.endpoints, events_send_timeout_seconds=0.5) as (app, own),
        serve_in_process(app) as url,
    ):
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        token = own.access_tokens.issue(team.viewer_id)
        writer.write(
            f"GET /api/v1/projects/{team.project_id}/events HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        await writer.drain()
        assert b" 200 " in await reader.readline()
        await wait_until(lambda: own.event_streams.open_streams == 1)
        # Never read again: once the socket buffers fill, a send stalls and times out.
        big = "x" * 65_536
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        sequence = 0
        while own.event_streams.open_streams and loop.time() < deadline:
            await own.events.publish(
                ExpertSectionDelta(
                    project_id=team.project_id,
                    run_id=uuid4(),
                    agent="qa_expert",
                    sequence=sequence,
                    delta=big,
                )
            )
            sequence += 1
            await asyncio.sleep(0.001 if sequence < 300 else 0.05)
        await wait_until(lambda: own.event_streams.open_streams == 0, timeout=15)
        assert own.event_streams.connections_in_use() == 0
        writer.close()
        await writer.wait_closed()


async def test_shutdown_ends_a_stream_with_a_last_ping_and_a_reconnect_hint(
    resources: Resources, team: Team
) -> None:
    streams = resources.event_streams
    shutdown = anyio.Event()
    [first] = await _publish(resources, team, 1)
    events = streams.events(team.project_id, "0-0", shutdown, _member)
    assert (await anext(events)).id == first
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.05)  # blocked in XREAD now
    shutdown.set()
    farewell = await asyncio.wait_for(waiting, 5)
    assert farewell.event == "ping"
    assert Ping.model_validate_json(str(farewell.data)).project_id == team.project_id
    assert farewell.retry is not None
    assert "shutting down" in str(farewell.comment)
    assert [item async for item in events] == []
    assert streams.open_streams == 0
    assert streams.connections_in_use() == 0


async def test_redis_failing_ends_the_stream_with_a_reconnect_hint(
    team: Team, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, redis_timeout_seconds=0.5)
    streams = EventStreams(
        settings.events, "redis://127.0.0.1:1", redis_timeout_seconds=settings.redis_timeout_seconds
    )
    try:
        items = [
            item async for item in streams.events(team.project_id, "0-0", anyio.Event(), _member)
        ]
    finally:
        await streams.aclose()
    [last] = items
    assert last.retry is not None
    assert "unavailable" in str(last.comment)
    assert streams.open_streams == 0
    assert streams.connections_in_use() == 0


async def test_a_project_stream_carries_only_its_own_events(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    async with open_events(stream_client, team.project_id, headers=team.viewer) as stream:
        await resources.events.publish(
            RunCompleted(project_id=team.other_project_id, run_id=uuid4())
        )
        [own] = await _publish(resources, team, 1)
        message = await stream.next_event()
    assert message.id == own
    assert json.loads(message.data)["project_id"] == str(team.project_id)
    assert await resources.redis.xlen(stream_key(team.other_project_id)) == 1


async def test_a_redis_that_stops_answering_ends_the_stream_with_a_reconnect_hint(
    redis_server: EmbeddedRedis, redis: Redis, team: Team, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, events_ping_seconds=0.2, redis_timeout_seconds=0.3)
    streams = EventStreams(
        settings.events, redis_server.url, redis_timeout_seconds=settings.redis_timeout_seconds
    )
    try:
        events = streams.events(team.project_id, "0-0", anyio.Event(), _member)
        last = asyncio.ensure_future(anext(events))
        await wait_until(lambda: streams.connections_in_use() == 1)
        # Valkey holds every client's commands unanswered for a second: a hung server.
        await redis.execute_command("CLIENT", "PAUSE", "1000", "ALL")  # type: ignore[no-untyped-call]
        farewell = await asyncio.wait_for(last, 5)
        assert [item async for item in events] == []
    finally:
        await streams.aclose()
    assert "unavailable" in str(farewell.comment)
    assert farewell.retry is not None
    assert streams.connections_in_use() == 0
    assert streams.open_streams == 0


async def test_a_redis_that_never_answers_the_handshake_ends_the_stream(
    team: Team, tmp_path: Path
) -> None:
    # A listener that accepts and then says nothing, like a wedged server.
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    settings = make_settings(tmp_path, redis_timeout_seconds=0.3)
    streams = EventStreams(
        settings.events,
        f"redis://127.0.0.1:{port}/0",
        redis_timeout_seconds=settings.redis_timeout_seconds,
    )
    try:
        [last] = [
            item async for item in streams.events(team.project_id, "0-0", anyio.Event(), _member)
        ]
    finally:
        await streams.aclose()
        silent.close()
        await silent.wait_closed()
    assert "unavailable" in str(last.comment)
    assert streams.connections_in_use() == 0
