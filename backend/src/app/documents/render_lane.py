"""Where previews and quality reports are computed: threads of their own, a few at a time.

Rendering is CPU work on a member's own text, up to half a million characters. On the shared
default pool, a handful of such calls by one viewer once held every thread that other tenants'
requests (and the database driver's helpers) wait on. Here they get ``THREADS`` threads of
their own, each project at most ``PER_PROJECT`` of them (in this process: each replica bounds
its own), and a caller waits at most ``TIMEOUT_SECONDS``. A render that outlives its caller
keeps its project's slot until its thread really ends, so retries cannot pile up work.
"""

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar
from uuid import UUID

from fastapi import status

from app.core.errors import AppError

# Half the cores: the other half stays with the event loop and the database driver.
THREADS = max(1, len(os.sched_getaffinity(0)) // 2)
PER_PROJECT = 2
TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


class RenderBusyError(AppError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "render_busy"

    def __init__(self) -> None:
        super().__init__(
            f"This project already has {PER_PROJECT} renders running; retry in a second.",
            details={"scope": "project", "retry_after": 1},
        )
        self.headers = {"Retry-After": "1"}


class RenderTimeoutError(AppError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "render_timeout"

    def __init__(self) -> None:
        super().__init__(
            f"Rendering the document took longer than {TIMEOUT_SECONDS:g}s.",
            details={"timeout_seconds": TIMEOUT_SECONDS},
        )
        self.headers = {"Retry-After": str(int(TIMEOUT_SECONDS))}


_EXECUTOR = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="jeex-render")
_SLOTS_LOCK = threading.Lock()
_running: dict[UUID, int] = {}


def _take_slot(project_id: UUID) -> None:
    with _SLOTS_LOCK:
        held = _running.get(project_id, 0)
        if held >= PER_PROJECT:
            raise RenderBusyError()
        _running[project_id] = held + 1


def _give_back_slot(project_id: UUID) -> None:
    # Called from the render's thread when it ends (or at once, if it never started).
    with _SLOTS_LOCK:
        held = _running.pop(project_id) - 1
        if held:
            _running[project_id] = held


def running_renders(project_id: UUID) -> int:
    with _SLOTS_LOCK:
        return _running.get(project_id, 0)


async def render(project_id: UUID, work: Callable[[], T]) -> T:
    """Run ``work`` on a render thread in the project's name, within the time limit."""
    _take_slot(project_id)
    try:
        future: Future[T] = _EXECUTOR.submit(work)
    except BaseException:
        _give_back_slot(project_id)
        raise
    future.add_done_callback(lambda _: _give_back_slot(project_id))
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT_SECONDS)
    except TimeoutError:
        raise RenderTimeoutError() from None
