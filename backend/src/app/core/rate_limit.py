"""Fixed-window rate limits in Redis: every limit of a request counted in one round trip.

A request is counted against all its limits at once (the caller's, and the project's when it
names one) by one Lua script, loaded once per process and called by its digest. The same round
trip can read a *revision stamp*: a value that changes whenever what it stands for changes (a
user's credentials, say), so that a replica holding something it derived from that state can
tell, without asking anyone else, whether it may keep using it.
"""

import itertools
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import status
from redis.asyncio import Redis

from app.core.errors import AppError

# INCR and the first PEXPIRE happen together, or a crash between them would leave a counter
# that never expires and a client locked out for good. A missing stamp is made on the spot from
# the caller's fresh value: one that went missing (expired, or lost with Redis' data) never
# comes back as a value someone saw before, so whatever was filed under the old one is dropped.
_COUNT_AND_STAMP = """
local counters = tonumber(ARGV[1])
local answer = {}
for i = 1, counters do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[i + 1])
  end
  answer[2 * i - 1] = count
  answer[2 * i] = redis.call('PTTL', KEYS[i])
end
for j = counters + 1, #KEYS do
  local stamp = redis.call('GET', KEYS[j])
  if not stamp then
    local fresh = counters + 2 + 2 * (j - counters - 1)
    stamp = ARGV[fresh]
    redis.call('SET', KEYS[j], stamp, 'PX', ARGV[fresh + 1])
  end
  answer[counters + j] = stamp
end
return answer
"""


class RateLimitedError(AppError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(
            f"Too many requests for this {scope}; retry in {retry_after}s.",
            details={"scope": scope, "retry_after": retry_after},
        )
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True, slots=True)
class Limit:
    scope: str
    key: str
    per_window: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Stamp:
    """Where a revision stamp lives, and how long it is kept once nobody changes it. Expiry is
    safe: a stamp made again is a new value."""

    key: str
    ttl_seconds: int


# Unique across processes (a random prefix per process, drawn again in a forked child) and
# never repeated within one (a counter): what a stamp must be, without drawing random bytes on
# every request.
_stamp_prefix = secrets.token_hex(8)
_stamps = itertools.count()


def _new_stamp_prefix() -> None:
    global _stamp_prefix  # noqa: PLW0603 - one prefix per process
    _stamp_prefix = secrets.token_hex(8)


os.register_at_fork(after_in_child=_new_stamp_prefix)


def new_stamp() -> str:
    return f"{_stamp_prefix}-{next(_stamps)}"


async def renew_stamp(redis: "Redis", stamp: Stamp) -> None:
    """Say that what ``stamp`` stands for changed: every replica sees a new value on its next
    read."""
    await redis.set(stamp.key, new_stamp(), px=stamp.ttl_seconds * 1000)


class RateLimiter:
    def __init__(self, redis: "Redis") -> None:
        # Registered once: the digest is computed here, and every call is an EVALSHA (loading
        # the script again only when Redis lost it).
        self._script = redis.register_script(_COUNT_AND_STAMP)

    async def enforce(self, limits: Sequence[Limit], *, stamps: Sequence[Stamp] = ()) -> list[str]:
        """Count one request against every limit; over any of them, raise with the seconds until
        the first one over it resets. The current value of each of ``stamps``, read in the same
        round trip (and made when missing), in their order."""
        keys = [limit.key for limit in limits] + [stamp.key for stamp in stamps]
        arguments: list[str | int] = [len(limits)]
        arguments += [limit.window_seconds * 1000 for limit in limits]
        for stamp in stamps:
            arguments += [new_stamp(), stamp.ttl_seconds * 1000]
        answer = await self._script(keys=keys, args=arguments)
        for index, limit in enumerate(limits):
            count, ttl_ms = int(answer[2 * index]), int(answer[2 * index + 1])
            if count > limit.per_window:
                raise RateLimitedError(limit.scope, max(1, -(-ttl_ms // 1000)))
        values = answer[2 * len(limits) :]
        return [value.decode() if isinstance(value, bytes) else str(value) for value in values]
