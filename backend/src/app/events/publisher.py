"""The one way events leave the service: an append to the project's Redis Stream.

The stream id Redis assigns is the event's id everywhere: the SSE ``id:`` field, the
``Last-Event-ID`` a client resumes from, and ``last_event_id`` in the progress snapshot.
"""

import json
from typing import Any
from uuid import UUID

from redis.asyncio import Redis

from app.core.config import EventsSettings
from app.core.redis import project_key
from app.events.schemas import ProjectEvent

# Append, trim by age and refresh the key's expiry in one atomic step, all on Redis' clock: the
# age cut-off is computed from the id Redis just assigned, so a skewed application clock can
# neither trim fresh events nor keep stale ones. MAXLEN rides on XADD; MINID needs its own XTRIM
# because one command takes one trimming strategy. Both are approximate ("~"), which lets Redis
# drop whole radix-tree nodes instead of single entries.
_APPEND = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                      'type', ARGV[3], 'data', ARGV[4])
local ms = tonumber(string.match(id, '^%d+'))
redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f', ms - tonumber(ARGV[2])) .. '-0')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id
"""


# Not an event: a notice on the project's own stream that access to it shrank (a member
# removed, the project deleted). Stream readers act on it and never send it to a client. On the
# stream itself, so that it is ordered with the events: whatever is published after it reaches a
# reader only after the reader has seen it and checked its holder's access again.
ACCESS_CHANGED = "stream.access-changed"


def stream_key(project_id: UUID) -> str:
    return project_key(project_id, "events")


def decode_id(raw: Any) -> str:
    return raw.decode("ascii") if isinstance(raw, bytes) else str(raw)


class EventPublisher:
    """Publishes typed events; one instance per process, held by ``Resources``.

    Events caused by a database change go through :func:`app.events.transaction.defer_event`
    so they leave only once the change committed. Call :meth:`publish` directly only for what
    no transaction backs (streamed text deltas, export progress).
    """

    def __init__(self, settings: EventsSettings, redis: "Redis") -> None:
        self._redis = redis
        self._maxlen = settings.stream_maxlen
        self._retention_ms = settings.retention_seconds * 1000
        self._append = redis.register_script(_APPEND)

    async def publish(self, event: ProjectEvent) -> str:
        """Append ``event`` to its own project's stream; returns the new event id."""
        entry_id = await self._append(
            keys=[stream_key(event.project_id)],
            args=[self._maxlen, self._retention_ms, event.type, event.model_dump_json()],
        )
        return decode_id(entry_id)

    async def announce_access_change(self, project_id: UUID) -> str:
        """Tell the project's open streams to check their holders' access again."""
        entry_id = await self._append(
            keys=[stream_key(project_id)],
            args=[
                self._maxlen,
                self._retention_ms,
                ACCESS_CHANGED,
                json.dumps({"type": ACCESS_CHANGED, "project_id": str(project_id)}),
            ],
        )
        return decode_id(entry_id)

    async def last_event_id(self, project_id: UUID) -> str | None:
        """The id of the project's newest retained event, or None when it has none."""
        entries = await self._redis.xrevrange(stream_key(project_id), count=1)
        return decode_id(entries[0][0]) if entries else None
