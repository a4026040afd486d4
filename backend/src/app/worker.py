"""The job worker: every kind of background job, in `serve` or as `jeex-idea worker`."""

from typing import TYPE_CHECKING, cast

from saq import Queue, Worker
from saq.types import PartialTimersDict

from app.conversation.worker import DRAIN_PROJECT, drain_project, recover_open_runs
from app.core.jobs import JobContext
from app.exports import jobs as export_jobs
from app.memory import jobs as memory_jobs
from app.resources import Resources

if TYPE_CHECKING:
    from app.llm.service import LLMGateway


def create_worker(
    queue: Queue, resources: Resources, gateway: "LLMGateway", *, owns_signals: bool
) -> "Worker[JobContext]":
    """``owns_signals``: the worker is the process (``jeex-idea worker``) and stops on SIGTERM;
    inside ``serve`` uvicorn owns the signals and stops the worker through the lifespan."""
    settings = resources.settings

    async def startup(ctx: JobContext) -> None:
        ctx["resources"] = resources
        ctx["gateway"] = gateway
        await recover_open_runs(queue, resources)
        await export_jobs.recover_unfinished(resources, queue)

    worker = Worker[JobContext](
        queue,
        functions=[
            (DRAIN_PROJECT, drain_project),
            (memory_jobs.INDEX_VERSION, memory_jobs.index_version),
            (memory_jobs.INDEX_SECTION, memory_jobs.index_section),
            (export_jobs.BUILD_EXPORT, export_jobs.build_export),
        ],
        cron_jobs=[export_jobs.cleanup_cron_job(settings.exports, settings.worker)],
        concurrency=settings.worker.concurrency,
        startup=startup,
        # The sweep re-queues the job of a worker that stopped beating. saq sweeps every 60 s
        # by default, which left a dead worker's run waiting a minute or more for another
        # worker; one heartbeat interval bounds it by the job's own liveness check.
        # (A cast: saq's PartialTimersDict inherits its keys as required.)
        timers=cast(PartialTimersDict, {"sweep": settings.worker.heartbeat_seconds}),
    )
    if not owns_signals:
        # saq would otherwise replace uvicorn's handlers: SIGTERM would stop only the worker.
        worker.SIGNALS = []
    return worker
