"""The job queue (saq on Redis) shared by every kind of background work.

The API records work and enqueues a job after its transaction commits; a worker (inside
``serve`` or ``jeex-idea worker``) runs it. What each job does lives in its domain; the worker
that registers them all is :mod:`app.worker`.
"""

from typing import TYPE_CHECKING

from saq import Queue
from saq.types import Context

from app.core.resources import Resources

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

QUEUE_NAME = "jeex-jobs"


class JobContext(Context, total=False):
    resources: Resources
    gateway: "LLMGateway"


def create_queue(redis_url: str) -> Queue:
    return Queue.from_url(redis_url, name=QUEUE_NAME)
