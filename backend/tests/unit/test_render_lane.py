import asyncio
import threading
from uuid import uuid4

import pytest

from app.documents import render_lane
from app.documents.render_lane import RenderBusyError, RenderTimeoutError


def _blocked(gate: threading.Event) -> str:
    gate.wait(10)
    return "rendered"


async def test_a_project_and_a_user_hold_a_bounded_number_of_renders() -> None:
    gate = threading.Event()
    project, other_project = uuid4(), uuid4()
    first_user, second_user, third_user = uuid4(), uuid4(), uuid4()
    running = [
        asyncio.create_task(render_lane.render(project, first_user, lambda: _blocked(gate))),
        asyncio.create_task(render_lane.render(project, second_user, lambda: _blocked(gate))),
    ]
    await asyncio.sleep(0.05)
    with pytest.raises(RenderBusyError) as project_full:
        await render_lane.render(project, third_user, lambda: "never")
    # The first user renders elsewhere too, up to their own cap of three.
    running += [
        asyncio.create_task(render_lane.render(uuid4(), first_user, lambda: _blocked(gate)))
        for _ in range(render_lane.PER_USER - 1)
    ]
    await asyncio.sleep(0.05)
    with pytest.raises(RenderBusyError) as user_full:
        await render_lane.render(other_project, first_user, lambda: "never")
    gate.set()
    assert await asyncio.gather(*running) == ["rendered"] * 4
    assert await render_lane.render(project, third_user, lambda: "after") == "after"
    assert project_full.value.code == "render_busy"
    assert project_full.value.details == {"scope": "project", "retry_after": 1}
    assert user_full.value.details == {"scope": "user", "retry_after": 1}
    assert project_full.value.headers == {"Retry-After": "1"}


async def test_a_caller_waits_no_longer_than_the_limit_and_the_slot_follows_the_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render_lane, "TIMEOUT_SECONDS", 0.2)
    gate = threading.Event()
    project, user = uuid4(), uuid4()
    with pytest.raises(RenderTimeoutError):
        await render_lane.render(project, user, lambda: _blocked(gate))
    # The abandoned render still runs, so it still counts against the project: one more
    # fills it (queued behind it), and a third is refused at once.
    queued = asyncio.create_task(render_lane.render(project, uuid4(), lambda: "queued"))
    await asyncio.sleep(0.05)
    with pytest.raises(RenderBusyError):
        await render_lane.render(project, uuid4(), lambda: "third")
    gate.set()
    assert await queued == "queued"
    assert await render_lane.render(project, user, lambda: "free again") == "free again"
