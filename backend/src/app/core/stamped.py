"""What a replica remembers under a revision stamp (see :mod:`app.core.rate_limit`), and how a
change that must reach every replica renews one.

An entry is used only while the stamp it was filed under is still the current one and it is
younger than its lifetime; the least recently used entries go first past the bound. Only what
a check from scratch confirmed is ever stored, so strangers cannot fill it.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import after_commit
from app.core.rate_limit import Stamp, renew_stamp

Key = TypeVar("Key")
Value = TypeVar("Value")


@dataclass(frozen=True, slots=True)
class Remembered(Generic[Value]):
    value: Value
    # The stamp read before the rows behind this entry were; None: read after them, so the
    # entry still has to be confirmed by a check from scratch.
    stamp: str | None
    valid_until: float  # time.monotonic()


class StampedMemory(Generic[Key, Value]):
    def __init__(self, *, max_entries: int, max_age_seconds: float) -> None:
        self._entries: OrderedDict[Key, Remembered[Value]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age_seconds = max_age_seconds

    def get(self, key: Key) -> Remembered[Value] | None:
        """The live entry of ``key``; whether its stamp is current is the caller's to check."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.valid_until <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def remember(
        self, key: Key, value: Value, *, stamp: str | None, lifetime: float | None = None
    ) -> None:
        """File ``value`` until the max age or ``lifetime``, whichever comes first."""
        seconds = (
            self._max_age_seconds if lifetime is None else min(self._max_age_seconds, lifetime)
        )
        if seconds <= 0:
            return
        self._entries[key] = Remembered(value, stamp, time.monotonic() + seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget(self, key: Key) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


async def renew_with_commit(session: AsyncSession, redis: "Redis", stamp: Stamp) -> None:
    """What ``stamp`` stands for changes in ``session``'s transaction: renewed now (a change
    Redis cannot announce fails whole) and again once it committed, since a request in between
    may have read the old rows and filed them under the first renewal."""
    await renew_stamp(redis, stamp)
    after_commit(session, partial(renew_stamp, redis, stamp))
