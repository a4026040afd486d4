"""The export jobs the worker runs: build one archive, and (on a schedule) clean up."""

from datetime import UTC, datetime
from uuid import UUID

from saq import CronJob, Queue

from app.core.config import ExportSettings, WorkerSettings
from app.core.jobs import JobContext, export_lane, heartbeat, is_last_attempt
from app.exports import builder
from app.exports import repository as export_repository
from app.exports.resources import ExportResources
from app.projects.scoping import AccessibleProjectID

BUILD_EXPORT = "build_export"
# A failing storage gets a few seconds to come back between attempts, not milliseconds.
_RETRY_DELAY_SECONDS = 2.0


def _job_key(export_id: UUID) -> str:
    # One job per export: enqueuing it again while it waits or runs is a no-op in saq.
    return f"export:{export_id}"


async def enqueue_export(
    queue: Queue,
    settings: ExportSettings,
    worker: WorkerSettings,
    project_id: UUID,
    export_id: UUID,
) -> None:
    # On its own lane: an export never waits behind another tenant's conversation.
    await export_lane(queue).enqueue(
        BUILD_EXPORT,
        key=_job_key(export_id),
        project_id=str(project_id),
        export_id=str(export_id),
        timeout=worker.job_timeout_seconds,
        heartbeat=worker.heartbeat_seconds,
        retries=settings.max_attempts,
        retry_delay=_RETRY_DELAY_SECONDS,
        retry_backoff=True,
    )


async def build_export(ctx: JobContext, *, project_id: str, export_id: str) -> None:
    resources: ExportResources = ctx["resources"]
    job = ctx["job"]
    async with heartbeat(job, resources.settings.worker.heartbeat_seconds / 3):
        # The ids come from the export row the API stored under the project it checked.
        await builder.build_export(
            resources,
            AccessibleProjectID(UUID(project_id)),
            UUID(export_id),
            last_attempt=is_last_attempt(job),
        )


async def cleanup_exports(ctx: JobContext) -> None:
    resources: ExportResources = ctx["resources"]
    await builder.cleanup(resources, datetime.now(UTC))


def cleanup_cron_job(settings: ExportSettings, worker: WorkerSettings) -> "CronJob[JobContext]":
    return CronJob(
        cleanup_exports,
        cron=settings.cleanup_cron,
        unique=True,
        timeout=worker.job_timeout_seconds,
    )


async def recover_unfinished(resources: ExportResources, queue: Queue) -> int:
    """After a restart, exports still waiting get their job again."""
    # Older ones are given up by the cleanup rather than tried again.
    settings = resources.settings
    created_after = datetime.now(UTC) - builder.longest_build(settings.exports, settings.worker)
    async with resources.session_factory() as session:
        waiting = await export_repository.unfinished(session, created_after=created_after)
    for project_id, export_id in waiting:
        await enqueue_export(queue, settings.exports, settings.worker, project_id, export_id)
    return len(waiting)
