"""The conversation's job: a turn at a project's queue of runs.

A job says "this project has runs waiting". The worker that takes it runs a bounded number of
them (``JEEX_WORKER_RUNS_PER_TURN``) in order under the project's lock, then lets the lock go
and, when runs are still waiting, queues the project again: behind every project that was
waiting meanwhile, so that one busy tenant cannot keep the worker's slots to itself. Jobs beat
their heartbeat while they work, so saq re-queues the job of a worker that died, and the next
attempt takes its run over.

A project has at most one job in the queue or running: a marker in Redis says so. Whoever
queues a job sets it; the job clears it when its turn ends, and only then looks for runs still
waiting. A run committed before that look is found by it; one committed after finds no marker
and queues the next turn itself. Messages posted during a turn therefore wait for it to end and
then queue behind the others, instead of keeping a place ahead of them.
"""

import contextlib
from typing import TYPE_CHECKING
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from saq import Queue
from sqlalchemy import select

from app.conversation import runs
from app.conversation.models import AgentExecution, RunStatus
from app.conversation.resources import ConversationResources
from app.core.config import Settings
from app.core.jobs import JobContext, every, heartbeat, queue_redis
from app.core.redis import project_key

logger = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

DRAIN_PROJECT = "drain_project"


def _marker_key(project_id: UUID) -> str:
    return project_key(project_id, "runs", "job")


def _marker_ttl_ms(settings: Settings) -> int:
    # Renewed while the job runs. Should the job be lost with its worker, the marker lapses
    # and the project's next message queues it again (saq re-queues the job itself sooner).
    return settings.worker.heartbeat_seconds * 4 * 1000


async def enqueue_project(queue: Queue, settings: Settings, project_id: UUID) -> None:
    """Queue a turn for the project, unless one is queued or running already."""
    redis = queue_redis(queue)
    key = _marker_key(project_id)
    if not await redis.set(key, b"1", nx=True, px=_marker_ttl_ms(settings)):
        return
    try:
        await _enqueue(queue, settings, project_id)
    except BaseException:
        await redis.delete(key)
        raise


async def _enqueue(queue: Queue, settings: Settings, project_id: UUID) -> None:
    await queue.enqueue(
        DRAIN_PROJECT,
        project_id=str(project_id),
        timeout=settings.worker.job_timeout_seconds,
        heartbeat=settings.worker.heartbeat_seconds,
        retries=settings.conversation.max_attempts,
    )


def _keeping(redis: Redis, key: str, ttl_ms: int) -> contextlib.AbstractAsyncContextManager[None]:
    async def renew() -> None:
        # A Redis blip must not end the renewal (the marker would lapse mid-turn and let a
        # second job in) nor fail a job whose turn is done: the next beat tries again.
        try:
            await redis.pexpire(key, ttl_ms)  # a no-op once the marker is gone
        except RedisError as error:
            logger.warning("conversation.job_marker_renewal_failed", error=type(error).__name__)

    return every(ttl_ms / 4000, renew)


async def drain_project(ctx: JobContext, *, project_id: str) -> None:
    resources: ConversationResources = ctx["resources"]
    gateway: LLMGateway = ctx["gateway"]
    queue = ctx["worker"].queue
    settings = resources.settings
    redis = queue_redis(queue)
    target = UUID(project_id)
    key = _marker_key(target)
    async with (
        heartbeat(ctx["job"], settings.worker.heartbeat_seconds / 3),
        _keeping(redis, key, _marker_ttl_ms(settings)),
    ):
        outcome = await runs.drain_project(
            resources, gateway, queue, target, limit=settings.worker.runs_per_turn
        )
        if outcome is runs.Drain.BUSY:
            return  # a duplicate: the holder looks again once its turn ends
        # The turn is over and the lock let go; from here a committed run queues its own job.
        await redis.delete(key)
        # A run committed before that is found here; a project with more to do goes to the
        # back of the queue.
        if await runs.has_waiting_runs(resources, target):
            await enqueue_project(queue, settings, target)


async def recover_open_runs(queue: Queue, resources: ConversationResources) -> None:
    """After a restart, projects with runs still open get a job again."""
    async with resources.session_factory() as session:
        result = await session.execute(
            select(AgentExecution.project_id)
            .where(AgentExecution.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
            .distinct()
        )
        project_ids = list(result.scalars())
    redis = queue_redis(queue)
    for project_id in project_ids:
        # Queued whatever a marker says: the job it stood for may have died with the worker.
        await redis.set(_marker_key(project_id), b"1", px=_marker_ttl_ms(resources.settings))
        await _enqueue(queue, resources.settings, project_id)
