from typing import Annotated

from fastapi import Depends, Request
from saq import Queue


async def get_run_queue(request: Request) -> Queue:  # async: no thread-pool hop
    queue: Queue = request.app.state.run_queue
    return queue


RunQueueDep = Annotated[Queue, Depends(get_run_queue)]
