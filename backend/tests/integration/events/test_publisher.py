"""Publishing: one Redis Stream per project, typed entries, bounded retention."""

import time
from pathlib import Path
from uuid import uuid4

from pydantic import TypeAdapter
from redis.asyncio import Redis

from app.core.embedded.redis import EmbeddedRedis
from app.events.publisher import EventPublisher, stream_key
from app.events.schemas import ExportProgress, ProjectEvent, RunCompleted, StageCompleted
from app.resources import Resources
from tests.conftest import make_settings

EVENTS: TypeAdapter[ProjectEvent] = TypeAdapter(ProjectEvent)


def _id(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


async def test_an_event_lands_in_its_own_projects_stream_under_its_id(
    resources: Resources, redis: Redis, clean_state: None
) -> None:
    project_a, project_b = uuid4(), uuid4()
    event = StageCompleted(project_id=project_a, stage="idea", next_stage="specs")
    event_id = await resources.events.publish(event)
    assert stream_key(project_a) == f"proj:{project_a}:events"
    assert await redis.xlen(stream_key(project_b)) == 0
    [(raw_id, fields)] = await redis.xrange(stream_key(project_a))
    assert raw_id.decode() == event_id
    assert fields[b"type"] == b"stage.completed"
    assert EVENTS.validate_json(fields[b"data"]) == event


async def test_ids_grow_with_every_event(resources: Resources, clean_state: None) -> None:
    project_id = uuid4()
    ids = [
        await resources.events.publish(RunCompleted(project_id=project_id, run_id=uuid4()))
        for _ in range(20)
    ]
    assert [_id(item) for item in ids] == sorted(_id(item) for item in ids)
    assert len(set(ids)) == 20


async def test_last_event_id_is_the_newest_or_none(resources: Resources, clean_state: None) -> None:
    project_id = uuid4()
    assert await resources.events.last_event_id(project_id) is None
    await resources.events.publish(RunCompleted(project_id=project_id, run_id=uuid4()))
    newest = await resources.events.publish(RunCompleted(project_id=project_id, run_id=uuid4()))
    assert await resources.events.last_event_id(project_id) == newest


async def test_a_stream_is_capped_in_length_and_expires_when_idle(
    redis_server: EmbeddedRedis, redis: Redis, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_stream_maxlen=100, events_retention_seconds=120)
    publisher = EventPublisher(settings.events, redis)
    project_id = uuid4()
    for number in range(1_000):
        await publisher.publish(
            ExportProgress(project_id=project_id, export_id=uuid4(), percent=0, step=str(number))
        )
    length = await redis.xlen(stream_key(project_id))
    # "~" trims whole nodes of (by default) 100 entries: at most one node more than asked.
    assert 100 <= length <= 200
    assert 110 <= await redis.ttl(stream_key(project_id)) <= 120


async def test_events_older_than_the_retention_are_trimmed(
    redis: Redis, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_retention_seconds=60)
    publisher = EventPublisher(settings.events, redis)
    project_id = uuid4()
    key = stream_key(project_id)
    # A full node of entries from long ago, as if written and then left for hours.
    long_ago = int(time.time() * 1000) - 3_600_000
    for sequence in range(100):
        await redis.xadd(key, {"type": "ping", "data": "{}"}, id=f"{long_ago}-{sequence}")
    fresh = await publisher.publish(RunCompleted(project_id=project_id, run_id=uuid4()))
    remaining = [raw.decode() for raw, _ in await redis.xrange(key)]
    assert remaining == [fresh]
