"""Token streaming: an expert's text deltas, coalesced into ``expert.section.delta`` events.

A model emits a token every few milliseconds; one event per token would flood every subscriber
and the stream's retention. Deltas are buffered and published at most once per
``JEEX_EVENTS_DELTA_INTERVAL_MS`` (or as soon as ``JEEX_EVENTS_DELTA_MAX_CHARS`` are waiting),
numbered from 0, with a final flush when the section ends.

Deltas are a live preview: one that Redis fails to take is logged and skipped (its ``sequence``
is then missing), and ``expert.section`` carries the complete text either way.
"""

import asyncio
from types import TracebackType
from typing import Self
from uuid import UUID

import structlog
from redis.exceptions import RedisError

from app.core.config import EventsSettings
from app.events.publisher import EventPublisher
from app.events.schemas import ExpertSectionDelta

logger = structlog.get_logger("app.events")


class DeltaCoalescer:
    """``async with DeltaCoalescer(...) as deltas: await deltas.add(text)`` for one section."""

    def __init__(
        self,
        publisher: EventPublisher,
        settings: EventsSettings,
        *,
        project_id: UUID,
        run_id: UUID,
        agent: str,
    ) -> None:
        events = settings
        self._publisher = publisher
        self._interval = events.delta_interval_ms / 1000
        self._max_chars = events.delta_max_chars
        self._project_id = project_id
        self._run_id = run_id
        self._agent = agent
        self._buffer: list[str] = []
        self._buffered_chars = 0
        self._sequence = 0
        # Held while a batch is taken and published, so batches leave in sequence order.
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    @property
    def published(self) -> int:
        """How many delta events went out so far (the next sequence number)."""
        return self._sequence

    async def add(self, delta: str) -> None:
        if not delta:
            return
        self._buffer.append(delta)
        self._buffered_chars += len(delta)
        if self._buffered_chars >= self._max_chars or self._interval <= 0:
            await self.flush()
        elif self._timer is None:
            # Timed from the oldest buffered delta: none waits longer than one interval.
            self._timer = asyncio.create_task(self._flush_later())

    async def flush(self) -> None:
        """Publish whatever is buffered now."""
        async with self._lock:
            self._cancel_timer()
            await self._publish_buffer()

    async def aclose(self) -> None:
        """The final flush; nothing is published after it."""
        timer = self._cancel_timer()
        if timer is not None:
            await asyncio.gather(timer, return_exceptions=True)
        await self.flush()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, Exception):
            # Also when the section failed: what the model wrote so far was real output.
            await self.aclose()
        else:
            # Cancelled: awaiting a publish here would be cancelled too; just stop the timer.
            self._cancel_timer()

    def _cancel_timer(self) -> asyncio.Task[None] | None:
        # A timer clears self._timer as soon as it holds the lock, so one still found here has
        # not begun to publish: cancelling it loses nothing, the buffer stays for the caller.
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
            return timer
        return None

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._interval)
        async with self._lock:
            if self._timer is asyncio.current_task():
                self._timer = None
            await self._publish_buffer()

    async def _publish_buffer(self) -> None:
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer.clear()
        self._buffered_chars = 0
        sequence, self._sequence = self._sequence, self._sequence + 1
        event = ExpertSectionDelta(
            project_id=self._project_id,
            run_id=self._run_id,
            agent=self._agent,
            sequence=sequence,
            delta=text,
        )
        try:
            await self._publisher.publish(event)
        except RedisError:
            logger.warning(
                "event_delta_dropped",
                project_id=str(self._project_id),
                run_id=str(self._run_id),
                sequence=sequence,
                exc_info=True,
            )
