"""The render lane's bounds: slots per project and user, the caller's time limit, lost processes.

The renders run in other processes, so the tests hold them with a gate file the render waits
for, not with an in-process event.
"""

import asyncio
import os
import signal
import time
from pathlib import Path
from uuid import uuid4

import pytest

from app.documents import render_lane
from app.documents.render_lane import RenderBusyError, RenderProcessLostError, RenderTimeoutError


def held_until(gate: str, answer: str) -> str:
    """Runs in a render process: wait (at most 10 s) until the gate file exists."""
    deadline = time.monotonic() + 10
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    return answer


def echo(answer: str) -> str:
    return answer


def own_pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def die() -> str:
    os.kill(os.getpid(), signal.SIGKILL)
    return "never"


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    return tmp_path / "open"


async def _until_running(count: int) -> None:
    # Slots are taken at once; give the submits a moment to reach the pool.
    await asyncio.sleep(0.05)
    assert sum(render_lane._running.values()) >= count


async def test_renders_run_in_another_process_at_a_lower_priority() -> None:
    pid, niceness = await render_lane.render(uuid4(), uuid4(), own_pid_and_niceness)
    assert pid != os.getpid()
    assert niceness == min(19, os.nice(0) + render_lane.RENDER_NICENESS)


async def test_a_project_and_a_user_hold_a_bounded_number_of_renders(gate: Path) -> None:
    project, other_project = uuid4(), uuid4()
    first_user, second_user, third_user = uuid4(), uuid4(), uuid4()
    running = [
        asyncio.create_task(render_lane.render(project, first_user, held_until, str(gate), "a")),
        asyncio.create_task(render_lane.render(project, second_user, held_until, str(gate), "b")),
    ]
    await _until_running(4)
    with pytest.raises(RenderBusyError) as project_full:
        await render_lane.render(project, third_user, echo, "never")
    # The first user renders elsewhere too, up to their own cap of three.
    running += [
        asyncio.create_task(render_lane.render(uuid4(), first_user, held_until, str(gate), "c"))
        for _ in range(render_lane.PER_USER - 1)
    ]
    await asyncio.sleep(0.05)
    with pytest.raises(RenderBusyError) as user_full:
        await render_lane.render(other_project, first_user, echo, "never")
    gate.touch()
    assert await asyncio.gather(*running) == ["a", "b", "c", "c"]
    assert await render_lane.render(project, third_user, echo, "after") == "after"
    assert render_lane._running == {}
    assert project_full.value.code == "render_busy"
    assert project_full.value.details == {"scope": "project", "retry_after": 1}
    assert user_full.value.details == {"scope": "user", "retry_after": 1}
    assert project_full.value.headers == {"Retry-After": "1"}


async def test_a_caller_waits_no_longer_than_the_limit_and_the_slot_follows_the_render(
    monkeypatch: pytest.MonkeyPatch, gate: Path
) -> None:
    await asyncio.to_thread(render_lane.warm_up)  # the pool's start is not the test
    monkeypatch.setattr(render_lane, "TIMEOUT_SECONDS", 0.3)
    project, user = uuid4(), uuid4()
    started = time.monotonic()
    with pytest.raises(RenderTimeoutError):
        await render_lane.render(project, user, held_until, str(gate), "late")
    assert time.monotonic() - started < 1.0
    # The abandoned render still runs, so it still counts against the project: one more
    # fills it, and a third is refused at once.
    monkeypatch.setattr(render_lane, "TIMEOUT_SECONDS", 10.0)
    second = asyncio.create_task(render_lane.render(project, uuid4(), held_until, str(gate), "2"))
    await asyncio.sleep(0.05)
    with pytest.raises(RenderBusyError):
        await render_lane.render(project, uuid4(), echo, "third")
    gate.touch()
    assert await second == "2"
    assert await render_lane.render(project, user, echo, "free again") == "free again"


async def test_a_killed_render_process_fails_its_render_and_the_next_gets_a_new_pool() -> None:
    project, user = uuid4(), uuid4()
    with pytest.raises(RenderProcessLostError) as lost:
        await render_lane.render(project, user, die)
    assert lost.value.status_code == 503
    assert render_lane._running == {}
    assert await render_lane.render(project, user, echo, "recovered") == "recovered"


async def test_warming_up_starts_the_processes_before_the_first_render() -> None:
    await asyncio.to_thread(render_lane.warm_up)
    started = time.monotonic()
    assert await render_lane.render(uuid4(), uuid4(), echo, "warm") == "warm"
    assert time.monotonic() - started < 0.5
