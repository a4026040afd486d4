"""The job worker: every kind of background job, in `serve` or as `jeex-idea worker`.

One worker process serves the three lanes of the job queue (see :mod:`app.core.jobs`), each
with slots of its own: conversation turns, memory indexing and exports, so that none waits
behind another. Fairness between projects on the conversation lane comes from the turns
themselves (:mod:`app.conversation.worker`).
"""

import asyncio
import signal
from typing import TYPE_CHECKING, cast

from saq import Queue, Worker
from saq.types import PartialTimersDict

from app.conversation.worker import DRAIN_PROJECT, drain_project, recover_open_runs
from app.core.jobs import JobContext, export_lane, memory_lane
from app.exports import jobs as export_jobs
from app.memory import jobs as memory_jobs
from app.resources import Resources

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

_MEMORY_FUNCTIONS = (
    (memory_jobs.INDEX_VERSION, memory_jobs.index_version),
    (memory_jobs.INDEX_SECTION, memory_jobs.index_section),
    (memory_jobs.FOLLOW_LANGUAGE, memory_jobs.follow_language),
)
_EXPORT_FUNCTIONS = ((export_jobs.BUILD_EXPORT, export_jobs.build_export),)
_CANCELLED_TASKS_GRACE_SECONDS = 1


class JobWorker:
    """The lanes' saq workers, started and stopped together."""

    def __init__(self, *lanes: "Worker[JobContext]", owns_signals: bool) -> None:
        self.lanes = lanes
        self._owns_signals = owns_signals
        for lane in lanes:
            # saq would otherwise replace the process's handlers, and each lane the other's.
            lane.SIGNALS = []

    def lane(self, name: str) -> "Worker[JobContext]":
        return next(lane for lane in self.lanes if lane.queue.name == name)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if self._owns_signals else ()
        for signum in signals:
            loop.add_signal_handler(signum, self._end)
        running = [asyncio.ensure_future(lane.start()) for lane in self.lanes]
        try:
            await asyncio.gather(*running)
        finally:
            self._end()  # one lane that ends (or fails to start) ends the others
            await asyncio.gather(*running, return_exceptions=True)
            for signum in signals:
                loop.remove_signal_handler(signum)

    def _end(self) -> None:
        """Stop taking jobs and cancel every lane's tasks at once.

        saq would wait its shutdown grace for them and then warn that tasks "did not finish":
        the idle ones (a blocking dequeue, upkeep loops sleeping up to a heartbeat) never do,
        so every stop warned. A job cut off here loses nothing: a run resumes at its stored
        step when it is taken over, and unfinished exports are queued again on start-up.
        """
        for lane in self.lanes:
            lane.event.set()
            for task in lane.tasks:
                task.cancel()

    async def stop(self) -> None:
        self._end()
        for lane in self.lanes:
            await lane.stop()


def create_worker(
    queue: Queue, resources: Resources, gateway: "LLMGateway", *, owns_signals: bool
) -> JobWorker:
    """``owns_signals``: the worker is the process (``jeex-idea worker``) and stops on SIGTERM;
    inside ``serve`` uvicorn owns the signals and stops the worker through the lifespan."""
    settings = resources.settings

    async def startup(ctx: JobContext) -> None:
        ctx["resources"] = resources
        ctx["gateway"] = gateway

    async def recover(ctx: JobContext) -> None:
        await startup(ctx)
        await recover_open_runs(queue, resources)
        await export_jobs.recover_unfinished(resources, queue)

    # The sweep re-queues the job of a worker that stopped beating. saq sweeps every 60 s
    # by default, which left a dead worker's run waiting a minute or more for another
    # worker; one heartbeat interval bounds it by the job's own liveness check.
    # (A cast: saq's PartialTimersDict inherits its keys as required.)
    timers = cast(PartialTimersDict, {"sweep": settings.worker.heartbeat_seconds})
    # The tasks `_end` cancelled finish on the loop's next turns; saq's default grace of zero
    # would not even let them do that before it warns.
    grace = _CANCELLED_TASKS_GRACE_SECONDS
    conversation = Worker[JobContext](
        queue,
        # The other lanes' jobs too: those queued on this lane before the lanes were split.
        functions=[(DRAIN_PROJECT, drain_project), *_MEMORY_FUNCTIONS, *_EXPORT_FUNCTIONS],
        concurrency=settings.worker.concurrency,
        startup=recover,
        timers=timers,
        shutdown_grace_period_s=grace,
    )
    memory = Worker[JobContext](
        memory_lane(queue),
        functions=list(_MEMORY_FUNCTIONS),
        concurrency=settings.worker.memory_concurrency,
        startup=startup,
        timers=timers,
        shutdown_grace_period_s=grace,
    )
    exports = Worker[JobContext](
        export_lane(queue),
        functions=list(_EXPORT_FUNCTIONS),
        cron_jobs=[export_jobs.cleanup_cron_job(settings.exports, settings.worker)],
        concurrency=settings.worker.export_concurrency,
        startup=startup,
        timers=timers,
        shutdown_grace_period_s=grace,
    )
    return JobWorker(conversation, memory, exports, owns_signals=owns_signals)
