"""Several API processes, one Redis: any replica serves any client, reconnects lose nothing.

The second replica is a real separate process (``uvicorn --factory app.main:app_from_environment``
on its own port); this test process serves the tests' app on another port and publishes. Every
client here talks HTTP over loopback TCP.
"""

import asyncio
import json
import random
import signal
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from app.core.config import Settings
from app.core.embedded.redis import EmbeddedRedis
from app.events.schemas import ExpertSectionDelta, RunStarted
from app.resources import Resources
from tests.integration.events.conftest import Team, open_events
from tests.support.live_server import Replica

TIMEOUT = httpx.Timeout(10.0, read=30.0)


async def test_a_client_of_one_replica_receives_what_another_published(
    live_url: str, replica: Replica, resources: Resources, team: Team
) -> None:
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        open_events(http, team.project_id, headers=team.viewer, base_url=replica.base_url) as far,
        open_events(http, team.project_id, headers=team.viewer, base_url=live_url) as near,
    ):
        assert (far.response.status_code, near.response.status_code) == (200, 200)
        event = RunStarted(
            project_id=team.project_id, run_id=uuid4(), message_id=None, stage="idea"
        )
        # Published by this process, which serves live_url; the replica only shares Redis.
        event_id = await resources.events.publish(event)
        from_far, from_near = await far.next_event(), await near.next_event()
    assert from_far.id == from_near.id == event_id
    assert from_far.data == from_near.data == event.model_dump_json()


async def test_a_ticket_from_one_replica_opens_the_stream_on_another(
    live_url: str, replica: Replica, resources: Resources, team: Team
) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        issued = await http.post(
            f"{live_url}/api/v1/projects/{team.project_id}/events/ticket", headers=team.viewer
        )
        params = {"ticket": issued.json()["ticket"]}
        async with open_events(
            http, team.project_id, params=params, base_url=replica.base_url
        ) as stream:
            assert stream.response.status_code == 200
            event = RunStarted(
                project_id=team.project_id, run_id=uuid4(), message_id=None, stage="idea"
            )
            event_id = await resources.events.publish(event)
            assert (await stream.next_event()).id == event_id


async def test_a_hundred_reconnects_with_last_event_id_lose_and_duplicate_nothing(
    live_url: str, replica: Replica, resources: Resources, team: Team
) -> None:
    """A conversation streams deltas without pause while the client keeps dropping its
    connection at random points and resuming, alternately on either replica."""
    run_id = uuid4()
    published: list[tuple[str, str]] = []
    stop = asyncio.Event()

    async def stream_a_conversation() -> None:
        sequence = 0
        while not stop.is_set():
            event = ExpertSectionDelta(
                project_id=team.project_id,
                run_id=run_id,
                agent="qa_expert",
                sequence=sequence,
                delta=f"token {sequence} ",
            )
            published.append((await resources.events.publish(event), event.model_dump_json()))
            sequence += 1
            await asyncio.sleep(0.003)

    received: list[tuple[str | None, str]] = []
    choose = random.Random(20261126)
    conversation = asyncio.create_task(stream_a_conversation())
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            for attempt in range(101):
                if attempt == 100:
                    stop.set()
                    await conversation  # the last connection drains everything
                headers = dict(team.viewer)
                params = None
                if received:
                    headers["Last-Event-ID"] = str(received[-1][0])
                else:
                    params = {"last_event_id": "0-0"}  # from the very first event
                base_url = (live_url, replica.base_url)[attempt % 2]
                async with open_events(
                    http, team.project_id, headers=headers, params=params, base_url=base_url
                ) as stream:
                    assert stream.response.status_code == 200, attempt
                    if attempt < 100:
                        wanted = choose.randint(0, 6)  # 0: dropped right after the headers
                    else:
                        wanted = len(published) - len(received)
                    for _ in range(wanted):
                        message = await stream.next_event()
                        received.append((message.id, message.data))
                # Leaving the block drops the TCP connection, whatever is in flight.
    finally:
        stop.set()
        await asyncio.gather(conversation, return_exceptions=True)

    assert len(published) > 300  # the conversation really ran through all reconnects
    assert [event_id for event_id, _ in received] == [event_id for event_id, _ in published]
    assert received == published


async def test_a_replica_shutting_down_says_goodbye_to_its_clients(
    app: object,
    settings: Settings,
    database_url: str,
    redis_server: EmbeddedRedis,
    team: Team,
    tmp_path: Path,
) -> None:
    stopping = Replica(settings.data_dir, database_url, redis_server.url, tmp_path / "log")
    try:
        await stopping.wait_ready()
        async with (
            httpx.AsyncClient(timeout=TIMEOUT) as http,
            open_events(
                http, team.project_id, headers=team.viewer, base_url=stopping.base_url
            ) as stream,
        ):
            assert stream.response.status_code == 200
            await asyncio.sleep(0.2)  # the stream is tailing
            stopping.process.terminate()
            farewell = await stream.next(timeout=15)
            with pytest.raises(StopAsyncIteration):
                await stream.next(timeout=15)
        code = await asyncio.to_thread(stopping.process.wait, 30)
    finally:
        stopping.stop()
    assert farewell.event == "ping"
    assert json.loads(farewell.data)["project_id"] == str(team.project_id)
    assert farewell.retry is not None
    assert any("shutting down" in comment for comment in farewell.comments)
    # uvicorn re-raises the SIGTERM it handled once it is done, after a clean shutdown.
    assert code in (0, -signal.SIGTERM), stopping.output()
    assert "Application shutdown complete" in stopping.output()
