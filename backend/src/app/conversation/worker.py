"""The job worker (saq on Redis): runs the conversation's runs, in `serve` or on its own.

A job says "this project has runs waiting"; the worker that takes it drains the project in
order under the project's lock. Jobs beat their heartbeat while they work, so saq re-queues the
job of a worker that died, and the next attempt takes its run over.
"""

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from saq import Queue, Worker
from saq.types import Context, PartialTimersDict
from sqlalchemy import select

from app.conversation import runs
from app.conversation.models import AgentExecution, RunStatus
from app.core.config import Settings
from app.core.resources import Resources

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

QUEUE_NAME = "jeex-runs"


class RunContext(Context, total=False):
    resources: Resources
    gateway: "LLMGateway"


DRAIN_PROJECT = "drain_project"


def create_queue(redis_url: str) -> Queue:
    return Queue.from_url(redis_url, name=QUEUE_NAME)


async def enqueue_project(queue: Queue, settings: Settings, project_id: UUID) -> None:
    await queue.enqueue(
        DRAIN_PROJECT,
        project_id=str(project_id),
        timeout=settings.worker_job_timeout_seconds,
        heartbeat=settings.worker_heartbeat_seconds,
        retries=settings.conversation_max_attempts,
    )


async def drain_project(ctx: RunContext, *, project_id: str) -> None:
    resources = ctx["resources"]
    gateway = ctx["gateway"]
    job = ctx["job"]
    beat = asyncio.create_task(_beat(job, resources.settings.worker_heartbeat_seconds / 3))
    try:
        target = UUID(project_id)
        # The holder re-checks after letting go: a run committed while it was finishing must
        # not wait for the next message to be noticed.
        while await runs.drain_project(resources, gateway, target):
            if not await runs.has_waiting_runs(resources, target):
                break
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def _beat(job: Any, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await job.update()


def create_worker(
    queue: Queue, resources: Resources, gateway: "LLMGateway", *, owns_signals: bool
) -> "Worker[RunContext]":
    """``owns_signals``: the worker is the process (``jeex-idea worker``) and stops on SIGTERM;
    inside ``serve`` uvicorn owns the signals and stops the worker through the lifespan."""

    async def startup(ctx: RunContext) -> None:
        ctx["resources"] = resources
        ctx["gateway"] = gateway
        await recover_open_runs(queue, resources)

    worker = Worker[RunContext](
        queue,
        functions=[(DRAIN_PROJECT, drain_project)],
        concurrency=resources.settings.worker_concurrency,
        startup=startup,
        # The sweep re-queues the job of a worker that stopped beating. saq sweeps every 60 s
        # by default, which left a dead worker's run waiting a minute or more for another
        # worker; one heartbeat interval bounds it by the job's own liveness check.
        # (A cast: saq's PartialTimersDict inherits its keys as required.)
        timers=cast(PartialTimersDict, {"sweep": resources.settings.worker_heartbeat_seconds}),
    )
    if not owns_signals:
        # saq would otherwise replace uvicorn's handlers: SIGTERM would stop only the worker.
        worker.SIGNALS = []
    return worker


async def recover_open_runs(queue: Queue, resources: Resources) -> None:
    """After a restart, projects with runs still open get a job again."""
    async with resources.session_factory() as session:
        result = await session.execute(
            select(AgentExecution.project_id)
            .where(AgentExecution.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
            .distinct()
        )
        project_ids = list(result.scalars())
    for project_id in project_ids:
        await enqueue_project(queue, resources.settings, project_id)
