"""Where previews and quality reports are computed: processes of their own, a few at a time.

Rendering is CPU work on a member's own text, up to half a million characters. On the shared
default pool, a handful of such calls by one viewer once held every thread that other tenants'
requests (and the database driver's helpers) wait on; on threads of their own, the pure-Python
passes still held the interpreter lock in slices that every other request's awaits queued
behind (p99 5.5x its idle value). So renders run in ``WORKERS`` processes of their own at a
lower CPU priority: the server's own process only sends the text there and gets the HTML back.

Each project holds at most ``PER_PROJECT`` renders and each user ``PER_USER`` over all their
projects (in this process: each replica bounds its own), and a caller waits at most
``TIMEOUT_SECONDS``. A render that outlives its caller keeps its slots until its process really
finishes it, so retries cannot pile up work.
"""

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar
from uuid import UUID

import structlog
from fastapi import status

from app.core.errors import AppError

# One per core: at their lower priority they only take what the server, the database and
# Redis leave idle, and a render queued behind another heavy one is what times out.
WORKERS = len(os.sched_getaffinity(0))
PER_PROJECT = 2
PER_USER = 3
TIMEOUT_SECONDS = 10.0
# A render process yields its core to the server, the database and Redis whenever they have
# work, and takes the idle time.
RENDER_NICENESS = 10
# Loaded once in the fork server, so a new render process starts with them in memory.
_PRELOADED = ["app.documents.render_process"]

P = ParamSpec("P")
T = TypeVar("T")
logger = structlog.get_logger(__name__)


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


class RenderProcessLostError(AppError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "render_process_lost"

    def __init__(self) -> None:
        super().__init__(
            "The process rendering the document ended before it finished; retry.",
            details={"retry_after": 1},
        )
        self.headers = {"Retry-After": "1"}


def _lower_this_process_priority() -> None:
    os.nice(RENDER_NICENESS)


def _new_pool() -> ProcessPoolExecutor:
    # A fork server, not a fork of the server: the server's process has threads (the database
    # driver's, the job heartbeat's) that a plain fork would copy mid-operation.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOADED)
    return ProcessPoolExecutor(
        max_workers=WORKERS, mp_context=context, initializer=_lower_this_process_priority
    )


class _Pool:
    """The process pool, started on first need and replaced when one of its processes dies.

    Its processes end with the interpreter (``concurrent.futures`` joins them at exit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = _new_pool()
            return self._executor

    def replace_broken(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)


_POOL = _Pool()
_SLOTS_LOCK = threading.Lock()
# Renders running (or queued for a process), by project and by user.
_running: dict[tuple[str, UUID], int] = {}


def warm_up() -> None:
    """Start the render processes now (blocking, about a second), so no reader waits for it."""
    _POOL.current().submit(_nothing).result()


def _nothing() -> None:
    return None


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


async def render(
    project_id: UUID,
    user_id: UUID,
    work: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run ``work(*args, **kwargs)`` in a render process for the project and user, within the
    time limit. ``work`` is a module-level function and its arguments picklable."""
    _take_slots(project_id, user_id)
    pool = _POOL.current()
    try:
        future: Future[T] = pool.submit(work, *args, **kwargs)
    except BrokenProcessPool:
        _give_back_slots(project_id, user_id)
        _POOL.replace_broken(pool)
        raise RenderProcessLostError() from None
    except BaseException:
        _give_back_slots(project_id, user_id)
        raise
    # Registered before the caller's own callback, so the slots are free again before the
    # caller hears the result and asks for its next render.
    future.add_done_callback(lambda _: _give_back_slots(project_id, user_id))
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT_SECONDS)
    except TimeoutError:
        raise RenderTimeoutError() from None
    except BrokenProcessPool:
        # A render process was killed (out of memory, by an operator): every render it held
        # fails, and the next one gets a new pool.
        logger.warning("render_process_lost", project_id=str(project_id))
        _POOL.replace_broken(pool)
        raise RenderProcessLostError() from None
