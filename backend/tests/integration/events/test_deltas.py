"""Token streaming: deltas coalesced to a sane rate, numbered from 0, nothing lost."""

import asyncio
import time
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis

from app.core.config import Settings
from app.events.deltas import DeltaCoalescer
from app.events.publisher import EventPublisher, stream_key
from app.events.schemas import ExpertSectionDelta
from app.resources import Resources
from tests.conftest import make_settings
from tests.integration.events.conftest import unreachable_redis


async def _deltas(redis: Redis, project_id: UUID) -> list[ExpertSectionDelta]:
    entries = await redis.xrange(stream_key(project_id))
    return [ExpertSectionDelta.model_validate_json(fields[b"data"]) for _, fields in entries]


def _coalescer(resources: Resources, settings: Settings, project_id: UUID) -> DeltaCoalescer:
    return DeltaCoalescer(
        resources.events, settings.events, project_id=project_id, run_id=uuid4(), agent="qa_expert"
    )


async def test_a_fast_token_stream_becomes_few_ordered_deltas(
    resources: Resources, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_delta_interval_ms=50)
    project_id = uuid4()
    tokens = [f"tok{number} " for number in range(400)]
    started = time.monotonic()
    async with _coalescer(resources, settings, project_id) as deltas:
        for token in tokens:
            await deltas.add(token)
            await asyncio.sleep(0.001)  # a token every millisecond or so
    elapsed = time.monotonic() - started
    published = await _deltas(resources.redis, project_id)
    assert [item.sequence for item in published] == list(range(len(published)))
    assert "".join(item.delta for item in published) == "".join(tokens)
    # About one event per interval, plus the final flush; never one per token.
    assert len(published) <= elapsed / 0.05 + 2
    assert len(published) < len(tokens) / 4
    assert deltas.published == len(published)
    assert {item.agent for item in published} == {"qa_expert"}


async def test_a_lone_delta_goes_out_after_one_interval(
    resources: Resources, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_delta_interval_ms=50)
    project_id = uuid4()
    async with _coalescer(resources, settings, project_id) as deltas:
        await deltas.add("Hello")
        assert await _deltas(resources.redis, project_id) == []
        await asyncio.sleep(0.3)  # the model stalls: the buffered text must not wait for it
        [early] = await _deltas(resources.redis, project_id)
        assert (early.sequence, early.delta) == (0, "Hello")
        await deltas.add(", world")
    assert [item.delta for item in await _deltas(resources.redis, project_id)] == [
        "Hello",
        ", world",
    ]


async def test_a_large_buffer_goes_out_at_once(
    resources: Resources, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_delta_interval_ms=5_000, events_delta_max_chars=10)
    project_id = uuid4()
    async with _coalescer(resources, settings, project_id) as deltas:
        await deltas.add("12345")
        await deltas.add("")  # nothing to say: nothing happens
        await deltas.add("67890ab")
        assert [item.delta for item in await _deltas(resources.redis, project_id)] == [
            "1234567890ab"
        ]
        await deltas.add("tail")
    assert [item.delta for item in await _deltas(resources.redis, project_id)] == [
        "1234567890ab",
        "tail",
    ]


async def test_a_zero_interval_publishes_every_delta(
    resources: Resources, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_delta_interval_ms=0)
    project_id = uuid4()
    async with _coalescer(resources, settings, project_id) as deltas:
        for token in ("a", "b", "c"):
            await deltas.add(token)
    assert [item.delta for item in await _deltas(resources.redis, project_id)] == ["a", "b", "c"]


async def test_what_was_written_before_a_failure_still_goes_out(
    resources: Resources, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_delta_interval_ms=5_000)
    project_id = uuid4()

    async def write_then_fail() -> None:
        async with _coalescer(resources, settings, project_id) as deltas:
            await deltas.add("partial")
            raise RuntimeError("the model failed")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    assert [item.delta for item in await _deltas(resources.redis, project_id)] == ["partial"]


async def test_a_cancelled_section_stops_without_publishing(
    resources: Resources, tmp_path: Path, clean_state: None
) -> None:
    settings = make_settings(tmp_path, events_delta_interval_ms=100)
    project_id = uuid4()

    async def write() -> None:
        async with _coalescer(resources, settings, project_id) as deltas:
            await deltas.add("never")
            await asyncio.sleep(10)

    task = asyncio.create_task(write())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)  # past the interval: its timer is gone too
    assert await _deltas(resources.redis, project_id) == []


async def test_a_delta_redis_refuses_is_logged_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, events_delta_interval_ms=0)
    nowhere = unreachable_redis()
    try:
        publisher = EventPublisher(settings.events, nowhere)
        deltas = DeltaCoalescer(
            publisher, settings.events, project_id=uuid4(), run_id=uuid4(), agent="qa_expert"
        )
        await deltas.add("lost")
        await deltas.aclose()
    finally:
        await nowhere.aclose()
    assert deltas.published == 1  # the number is spent: the gap shows in `sequence`
    assert "event_delta_dropped" in capsys.readouterr().out
