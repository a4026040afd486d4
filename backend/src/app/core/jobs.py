"""The job queue (saq on Redis) shared by every kind of background work.

The API records work and enqueues a job after its transaction commits; a worker (inside
``serve`` or ``jeex-idea worker``) runs it. What each job does lives in its domain; the worker
that registers them all is :mod:`app.worker`.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from saq import Job, Queue
from saq.queue.redis import RedisQueue
from saq.types import Context

# Three lanes, each a saq queue with worker slots of its own, so that one kind of work never
# waits behind another: the conversation's turns; the memory indexing those turns leave behind;
# and exports, which a user waits for. The conversation lane keeps the original name, where jobs
# queued before the lanes were split wait.
QUEUE_NAME = "jeex-jobs"
MEMORY_QUEUE_NAME = "jeex-memory"
EXPORT_QUEUE_NAME = "jeex-exports"


class JobContext(Context, total=False):
    # Set by the worker's start-up (app.worker): the process's resources and model gateway.
    # Core knows no domain, so a job reads them through its own domain's protocol, e.g.
    # ``resources: ExportResources = ctx["resources"]``.
    resources: Any
    gateway: Any


class JobQueue(RedisQueue):
    """The conversation lane, carrying the other lanes beside it: whoever holds the queue the
    application enqueues on reaches all of them (see :func:`memory_lane`, :func:`export_lane`)."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(Redis.from_url(redis_url), name=QUEUE_NAME)
        self.memory = RedisQueue(Redis.from_url(redis_url), name=MEMORY_QUEUE_NAME)
        self.exports = RedisQueue(Redis.from_url(redis_url), name=EXPORT_QUEUE_NAME)

    async def connect(self) -> None:
        await super().connect()
        await self.memory.connect()
        await self.exports.connect()

    async def disconnect(self) -> None:
        try:
            await self.memory.disconnect()
            await self.exports.disconnect()
        finally:
            await super().disconnect()


def create_queue(redis_url: str) -> JobQueue:
    return JobQueue(redis_url)


def _job_queue(queue: Queue) -> JobQueue:
    if not isinstance(queue, JobQueue):
        raise TypeError(f"{queue!r} is not the application's job queue (create_queue)")
    return queue


def memory_lane(queue: Queue) -> Queue:
    """Where memory indexing goes, off the conversation's slots."""
    return _job_queue(queue).memory


def export_lane(queue: Queue) -> Queue:
    """Where exports go: never behind another tenant's conversation or its indexing."""
    return _job_queue(queue).exports


@contextlib.asynccontextmanager
async def every(interval: float, action: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
    """Run ``action`` every ``interval`` seconds while the block runs; stop it on leaving."""

    async def repeat() -> None:
        while True:
            await asyncio.sleep(interval)
            await action()

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def heartbeat(job: Job, interval: float) -> contextlib.AbstractAsyncContextManager[None]:
    """Touch ``job`` every ``interval`` seconds while the block runs: saq re-queues a job whose
    heartbeat stops, which is how the job of a worker that died is taken over."""
    return every(interval, job.update)


def is_last_attempt(job: Job) -> bool:
    # saq counts the attempt in progress already; when no retry is left, a failure is final.
    return not job.retryable


def queue_redis(queue: Queue) -> Redis:
    """The Redis a queue keeps its jobs in, for markers that must live beside them."""
    if not isinstance(queue, RedisQueue):
        raise TypeError(f"{queue!r} is not kept in Redis")
    return queue.redis
