"""Where previews and quality reports are computed: threads of their own, a few at a time.

Rendering is CPU work on a member's own text, up to half a million characters. On the shared
default pool, a handful of such calls by one viewer once held every thread that other tenants'
requests (and the database driver's helpers) wait on. Here they get ``THREADS`` threads of
their own; each project holds at most ``PER_PROJECT`` renders and each user ``PER_USER`` over
all their projects (in this process: each replica bounds its own), and a caller waits at most
``TIMEOUT_SECONDS``. A render that outlives its caller
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
PER_USER = 3
TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


class RenderBusyError(AppError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "render_busy"

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(
            f"This {scope} already has {limit} renders running; retry in a second.",
            details={"scope": scope, "retry_after": 1},
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


# Linux schedules threads one by one: a render thread at a lower priority yields its core to
# the event loop, the database and Redis whenever they have work, and takes the idle time.
RENDER_NICENESS = 10


def _lower_this_threads_priority() -> None:
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), RENDER_NICENESS)


_EXECUTOR = ThreadPoolExecutor(
    max_workers=THREADS,
    thread_name_prefix="jeex-render",
    initializer=_lower_this_threads_priority,
)
_SLOTS_LOCK = threading.Lock()
# Renders running (or queued for a thread), by project and by user.
_running: dict[tuple[str, UUID], int] = {}


def _take_slots(project_id: UUID, user_id: UUID) -> None:
    holders = (("project", project_id, PER_PROJECT), ("user", user_id, PER_USER))
    with _SLOTS_LOCK:
        for scope, holder, limit in holders:
            if _running.get((scope, holder), 0) >= limit:
                raise RenderBusyError(scope, limit)
        for scope, holder, _ in holders:
            _running[(scope, holder)] = _running.get((scope, holder), 0) + 1


def _give_back_slots(project_id: UUID, user_id: UUID) -> None:
    with _SLOTS_LOCK:
        for key in (("project", project_id), ("user", user_id)):
            held = _running.pop(key) - 1
            if held:
                _running[key] = held


async def render(project_id: UUID, user_id: UUID, work: Callable[[], T]) -> T:
    """Run ``work`` on a render thread for the project and user, within the time limit."""
    _take_slots(project_id, user_id)

    def run() -> T:
        # Given back before the caller hears the result, so its next render finds it free.
        try:
            return work()
        finally:
            _give_back_slots(project_id, user_id)

    try:
        future: Future[T] = _EXECUTOR.submit(run)
    except BaseException:
        _give_back_slots(project_id, user_id)
        raise
    # A render cancelled before a thread took it never runs ``run``.
    future.add_done_callback(
        lambda done: _give_back_slots(project_id, user_id) if done.cancelled() else None
    )
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT_SECONDS)
    except TimeoutError:
        raise RenderTimeoutError() from None
