"""One SSE client's view of a project's stream: replay after an id, then tail, until it goes.

Each open stream holds one Redis connection, taken from a pool kept apart from the shared
client's: a blocking XREAD occupies its connection for up to a ping interval, which would
starve the shared pool's short commands (whose reads also time out far sooner than a block
lasts). The reads go straight to the connection rather than through the client's command
layer: with thousands of streams woken by one event, the per-command retry, metrics and
tracing wrappers cost more than the read itself, and one blocked read is not worth a span.
"""

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID

import anyio
import structlog
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sse_starlette import ServerSentEvent

from app.core.config import EventsSettings
from app.events.exceptions import EventStreamsBusyError, TooManyUserStreamsError
from app.events.publisher import ACCESS_CHANGED, decode_id, stream_key
from app.events.schemas import Ping

# Shown by CLIENT LIST, so an operator can tell stream readers from everything else.
STREAM_CLIENT_NAME = "jeex-events"
_READ_BATCH = b"500"
# Reconnects after a shutdown or a Redis failure are spread over a few seconds, so the clients
# of a stopped replica do not all land on the others in the same instant.
_RECONNECT_MIN_MS, _RECONNECT_SPREAD_MS = 1_000, 4_000
# A shutdown or a wedged Redis must not keep a stream's cleanup waiting for long.
_CLEANUP_SECONDS = 5.0

logger = structlog.get_logger("app.events")

Entry = tuple[str, str, str]
"""(event id, event name, JSON data) as read from the stream."""

AccessCheck = Callable[[], Awaitable[bool]]
"""Whether the stream's holder may still see the project, asked of the database."""


def _reconnect_ms() -> int:
    return _RECONNECT_MIN_MS + secrets.randbelow(_RECONNECT_SPREAD_MS)


def _entries(reply: Any) -> list[Entry]:
    # The raw XREAD reply: RESP3 maps stream -> entries, RESP2 lists [stream, entries] pairs;
    # None when the block timed out. An entry is [id, [field, value, field, value, ...]].
    streams = reply.items() if isinstance(reply, dict) else (reply or [])
    entries = []
    for _, items in streams:
        for raw_id, flat in items:
            fields = dict(zip(flat[::2], flat[1::2], strict=True))
            entries.append((decode_id(raw_id), fields[b"type"].decode(), fields[b"data"].decode()))
    return entries


def _xread(key: str, cursor: str, block_ms: int) -> bytes:
    # Packed here, once per read, as RESP bulk strings: the generic packer is a visible share
    # of the cost when one event wakes every stream of a process.
    parts = [b"XREAD", b"COUNT", _READ_BATCH, b"BLOCK", b"%d" % block_ms]
    parts += [b"STREAMS", key.encode(), cursor.encode()]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class _Reader:
    """The stream's connection and the read in flight on it, if any."""

    def __init__(self, connection: AbstractConnection, margin_seconds: float) -> None:
        self.connection = connection
        self.margin_seconds = margin_seconds
        self.pending: asyncio.Task[list[Entry]] | None = None

    def read(self, key: str, cursor: str, block_seconds: float) -> "asyncio.Task[list[Entry]]":
        # A task of its own, so that a shutdown can cut it short (see interrupt). Measured
        # against reading inline under a deadline that the shutdown moves: no more CPU, and
        # the last of 2,000 subscribers gets an event sooner (bench/sse_fanout.py).
        self.pending = asyncio.ensure_future(self._read(key, cursor, block_seconds))
        return self.pending

    async def _read(self, key: str, cursor: str, block_seconds: float) -> list[Entry]:
        block_ms = max(1, int(block_seconds * 1000))
        try:
            # XREAD answers by the end of its block, if only with nil; no answer well past it
            # means the server or the network is gone. (redis-py closes a connection whose
            # send or read is interrupted, so it goes back to the pool clean.)
            async with asyncio.timeout(block_seconds + self.margin_seconds):
                await self.connection.send_packed_command(_xread(key, cursor, block_ms), False)
                reply = await self.connection.read_response()
        except TimeoutError:
            raise RedisTimeoutError("no reply to a blocking XREAD") from None
        return _entries(reply)

    def interrupt(self, _: object = None) -> None:
        if self.pending is not None:
            self.pending.cancel()


class EventStreams:
    """The process's SSE streams and the Redis connections they read with."""

    def __init__(
        self, settings: EventsSettings, redis_url: str, *, redis_timeout_seconds: float
    ) -> None:
        self._max_streams = settings.max_streams
        self._block_seconds = settings.ping_seconds
        self._recheck_seconds = settings.access_recheck_seconds
        self._max_seconds = settings.stream_max_seconds
        self._margin_seconds = redis_timeout_seconds
        self._pool: ConnectionPool = ConnectionPool.from_url(
            redis_url,
            max_connections=settings.max_streams,
            # No socket timeout: each read sets its own deadline from its block time. (With
            # one, redis-py would also wrap every write in a task of its own.)
            socket_timeout=None,
            socket_connect_timeout=redis_timeout_seconds,
            client_name=STREAM_CLIENT_NAME,
        )
        self._max_per_user = settings.max_streams_per_user
        self.open_streams = 0
        self.streams_by_user: Counter[UUID] = Counter()

    def connections_in_use(self) -> int:
        _idle, in_use = self._pool.get_connection_count()
        return in_use[0]

    def reserve(self, user_id: UUID) -> Callable[[], None]:
        """Count a stream about to open for ``user_id``, or refuse it: 503 when the process
        is full, 429 when this user already holds their share. Returns the release, which is
        safe to call more than once. Checked and counted without an await in between, so a
        burst of concurrent opens cannot all slip past the same check."""
        if self.open_streams >= self._max_streams:
            raise EventStreamsBusyError
        if self.streams_by_user[user_id] >= self._max_per_user:
            raise TooManyUserStreamsError(self._max_per_user)
        self.streams_by_user[user_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self.streams_by_user[user_id] -= 1
            if self.streams_by_user[user_id] <= 0:
                del self.streams_by_user[user_id]

        return release

    @staticmethod
    def ping(project_id: UUID) -> ServerSentEvent:
        return ServerSentEvent(Ping(project_id=project_id).model_dump_json(), event="ping")

    async def events(
        self, project_id: UUID, after: str, shutdown: anyio.Event, access: AccessCheck
    ) -> AsyncIterator[ServerSentEvent]:
        """Every event after the id ``after`` (exclusive), as it arrives, while ``access``
        holds.

        Ends by itself when the server shuts down (a last ``ping`` with a reconnect hint), when
        the stream reaches its lifetime, when Redis fails, or when its holder's access ended;
        a client disconnect cancels it. Access is checked again on every access-change notice
        of the project, before any entry read after it is sent, and at least every
        ``access_recheck_seconds`` in case a notice was lost.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_seconds
        recheck_at = loop.time() + self._recheck_seconds
        key = stream_key(project_id)
        reader: _Reader | None = None
        stopping = asyncio.ensure_future(shutdown.wait())
        self.open_streams += 1
        try:
            reader = _Reader(await self._connect(), self._margin_seconds)
            # A shutdown cuts the read in flight short instead of waiting out its block.
            stopping.add_done_callback(reader.interrupt)
            cursor = after
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    yield ServerSentEvent(
                        comment="stream lifetime reached; reconnect with Last-Event-ID",
                        retry=_reconnect_ms(),
                    )
                    return
                if stopping.done():
                    yield self._farewell(project_id)
                    return
                block = min(self._block_seconds, remaining, max(0.0, recheck_at - loop.time()))
                try:
                    entries = await reader.read(key, cursor, block)
                except asyncio.CancelledError:
                    # The shutdown cancelled the read, not someone this stream (a disconnect):
                    # then this task has no cancel request of its own pending.
                    this_task = asyncio.current_task()
                    if stopping.done() and this_task is not None and not this_task.cancelling():
                        yield self._farewell(project_id)
                        return
                    raise
                if loop.time() >= recheck_at or any(
                    name == ACCESS_CHANGED for _, name, _ in entries
                ):
                    # Before any of the batch goes out: what follows a notice may have been
                    # published after the change, for members only.
                    if (ended := await self._access_ended(project_id, access)) is not None:
                        yield ended
                        return
                    recheck_at = loop.time() + self._recheck_seconds
                for entry_id, name, data in entries:
                    cursor = entry_id
                    if name != ACCESS_CHANGED:
                        yield ServerSentEvent(data, event=name, id=entry_id)
        except RedisError:
            logger.warning("event_stream_redis_error", project_id=str(project_id), exc_info=True)
            yield ServerSentEvent(
                comment="event source unavailable; reconnect with Last-Event-ID",
                retry=_reconnect_ms(),
            )
        finally:
            # Shielded: on a disconnect this runs inside a cancelled scope, where any await
            # would be cancelled again and leak the connection.
            with anyio.move_on_after(_CLEANUP_SECONDS, shield=True):
                await self._release(reader, stopping)
            self.open_streams -= 1

    async def _connect(self) -> AbstractConnection:
        # The pool's connections have no socket timeout (see __init__), so the connect and its
        # handshake get a deadline here; an interrupted handshake disconnects its connection.
        try:
            async with asyncio.timeout(self._margin_seconds):
                # redis-py leaves get_connection untyped (a deprecation decorator hides it).
                connection: AbstractConnection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
        except TimeoutError:
            raise RedisTimeoutError("no connection to Redis for an event stream") from None
        return connection

    async def _access_ended(self, project_id: UUID, access: AccessCheck) -> ServerSentEvent | None:
        """None while the holder may see the project; else the stream's last message.

        A check that cannot be made (the database down or slow) ends the stream as well, with
        a reconnect hint: a stream is never kept open on access it could not confirm, and the
        reconnection checks access in full."""
        try:
            async with asyncio.timeout(self._margin_seconds + self._recheck_seconds):
                allowed = await access()
        except Exception:
            logger.warning(
                "event_stream_access_check_failed", project_id=str(project_id), exc_info=True
            )
            return ServerSentEvent(
                comment="access could not be checked; reconnect with Last-Event-ID",
                retry=_reconnect_ms(),
            )
        if allowed:
            return None
        logger.info("event_stream_access_ended", project_id=str(project_id))
        return ServerSentEvent(comment="access to this project ended")

    def _farewell(self, project_id: UUID) -> ServerSentEvent:
        farewell = self.ping(project_id)
        farewell.comment = "server shutting down; reconnect with Last-Event-ID"
        farewell.retry = _reconnect_ms()
        return farewell

    async def _release(self, reader: _Reader | None, stopping: "asyncio.Future[Any]") -> None:
        pending = [stopping]
        if reader is not None and reader.pending is not None:
            pending.append(reader.pending)
        for task in pending:
            task.cancel()
        # redis-py disconnects a connection whose send or read was interrupted, so what goes
        # back to the pool never has a reply in flight.
        await asyncio.gather(*pending, return_exceptions=True)
        if reader is not None:
            await self._pool.release(reader.connection)

    async def aclose(self) -> None:
        await self._pool.aclose()
