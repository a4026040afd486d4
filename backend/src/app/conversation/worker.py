"""The conversation's job: drains a project's runs.

A job says "this project has runs waiting"; the worker that takes it drains the project in
order under the project's lock. Jobs beat their heartbeat while they work, so saq re-queues the
job of a worker that died, and the next attempt takes its run over.
"""

from typing import TYPE_CHECKING
from uuid import UUID

from saq import Queue
from sqlalchemy import select

from app.conversation import runs
from app.conversation.models import AgentExecution, RunStatus
from app.conversation.resources import ConversationResources
from app.core.config import Settings
from app.core.jobs import JobContext, heartbeat

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

DRAIN_PROJECT = "drain_project"


async def enqueue_project(queue: Queue, settings: Settings, project_id: UUID) -> None:
    await queue.enqueue(
        DRAIN_PROJECT,
        project_id=str(project_id),
        timeout=settings.worker.job_timeout_seconds,
        heartbeat=settings.worker.heartbeat_seconds,
        retries=settings.conversation.max_attempts,
    )


async def drain_project(ctx: JobContext, *, project_id: str) -> None:
    resources: ConversationResources = ctx["resources"]
    gateway: LLMGateway = ctx["gateway"]
    async with heartbeat(ctx["job"], resources.settings.worker.heartbeat_seconds / 3):
        target = UUID(project_id)
        # The holder re-checks after letting go: a run committed while it was finishing must
        # not wait for the next message to be noticed.
        while await runs.drain_project(resources, gateway, ctx["worker"].queue, target):
            if not await runs.has_waiting_runs(resources, target):
                break


async def recover_open_runs(queue: Queue, resources: ConversationResources) -> None:
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
