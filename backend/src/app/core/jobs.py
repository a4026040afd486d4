"""The job queue (saq on Redis) shared by every kind of background work.

The API records work and enqueues a job after its transaction commits; a worker (inside
``serve`` or ``jeex-idea worker``) runs it. What each job does lives in its domain; the worker
that registers them all is :mod:`app.worker`.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from saq import Job, Queue
from saq.types import Context

QUEUE_NAME = "jeex-jobs"


class JobContext(Context, total=False):
    # Set by the worker's start-up (app.worker): the process's resources and model gateway.
    # Core knows no domain, so a job reads them through its own domain's protocol, e.g.
    # ``resources: ExportResources = ctx["resources"]``.
    resources: Any
    gateway: Any


def create_queue(redis_url: str) -> Queue:
    return Queue.from_url(redis_url, name=QUEUE_NAME)


@contextlib.asynccontextmanager
async def heartbeat(job: Job, interval: float) -> AsyncIterator[None]:
    """Touch ``job`` every ``interval`` seconds while the block runs: saq re-queues a job whose
    heartbeat stops, which is how the job of a worker that died is taken over."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            await job.update()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def is_last_attempt(job: Job) -> bool:
    # saq counts the attempt in progress already; when no retry is left, a failure is final.
    return not job.retryable
