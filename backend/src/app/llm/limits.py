"""Per-user concurrency and per-project token budget, each enforced by one Lua script in Redis.

Budget (one hash per project, ``proj:{project_id}:llm:budget``): field ``used`` holds settled
tokens, and each call in flight holds a field ``r:{id}`` = ``tokens:expiry_ms``. Reserving sums
``used`` and the live reservations and adds the new one only if the sum stays within the budget,
all in one script, so concurrent calls cannot overspend it. When the call ends, one script drops
its reservation and adds what the call really used; a call that failed or was cancelled adds
what it spent before stopping (often nothing); one whose project was deleted meanwhile (its
keys purged) adds nothing, since settling never creates the hash that would outlive it. A
process that dies mid-call leaves a reservation that the next reservation on that project
removes once its lease has expired.

Concurrency (one sorted set per user, ``user:{user_id}:llm:inflight``): a member per call in
flight, scored by its lease expiry; expired members are dropped before counting.

Each script touches one key, so they also run on Redis Cluster. The time is Redis's own, so
replicas with skewed clocks agree on lease expiry.
"""

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID, uuid4

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.redis import project_key
from app.llm.exceptions import LLMBudgetExceededError, LLMConcurrencyLimitError

logger = structlog.get_logger(__name__)

_NOW_MS = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
"""

# KEYS[1] budget hash; ARGV: reservation id, tokens, budget, lease ms.
# Returns {1, used, reserved} when reserved, {0, used, reserved} when refused.
_RESERVE = (
    _NOW_MS
    + """
local fields = redis.call('HGETALL', KEYS[1])
local used, reserved = 0, 0
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if name == 'used' then
    used = tonumber(value)
  else
    local sep = string.find(value, ':', 1, true)
    if tonumber(string.sub(value, sep + 1)) <= now then
      redis.call('HDEL', KEYS[1], name)
    else
      reserved = reserved + tonumber(string.sub(value, 1, sep - 1))
    end
  end
end
local tokens = tonumber(ARGV[2])
if used + reserved + tokens > tonumber(ARGV[3]) then
  return {0, used, reserved}
end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], tokens .. ':' .. (now + tonumber(ARGV[4])))
return {1, used, reserved + tokens}
"""
)

# KEYS[1] budget hash; ARGV: reservation id, tokens really used. Returns the new total used,
# or false when the hash is gone. The reservation made it, so a missing hash means the project
# was deleted during the call and its keys purged: counting then would bring the hash back as a
# key without a TTL that nothing would ever remove.
_SETTLE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'used', ARGV[2])
"""

# KEYS[1] user's in-flight set; ARGV: call id, limit, lease ms. Returns 1 if admitted.
_ACQUIRE_SLOT = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
)


def budget_key(project_id: UUID) -> str:
    return project_key(project_id, "llm", "budget")


def inflight_key(user_id: UUID) -> str:
    return f"user:{user_id}:llm:inflight"


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    project_token_budget: int
    call_token_reservation: int
    user_concurrency: int
    lease_seconds: float

    @property
    def lease_ms(self) -> int:
        return math.ceil(self.lease_seconds * 1000)


class CallLimits:
    def __init__(self, redis: "Redis", policy: LimitPolicy) -> None:
        self._redis = redis
        self._policy = policy
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)
        self._acquire_slot = redis.register_script(_ACQUIRE_SLOT)
        self._finishing: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def admit(
        self, *, project_id: UUID, user_id: UUID, spent: Callable[[], int]
    ) -> AsyncIterator[None]:
        """Hold a concurrency slot and a budget reservation for the duration of one call.

        Raises before anything is sent when either limit is reached, leaving no trace. On exit,
        whatever the outcome, the reservation is settled to ``spent()`` and the slot released.
        """
        call_id = uuid4().hex
        await self._take_slot(user_id, call_id)
        try:
            await self._take_reservation(project_id, call_id)
        except BaseException:
            await self._finish(self._release_slot(user_id, call_id))
            raise
        try:
            yield
        finally:
            await self._finish(self._close(project_id, user_id, call_id, spent))

    async def _take_slot(self, user_id: UUID, call_id: str) -> None:
        policy = self._policy
        admitted = await self._acquire_slot(
            keys=[inflight_key(user_id)], args=[call_id, policy.user_concurrency, policy.lease_ms]
        )
        if not admitted:
            raise LLMConcurrencyLimitError(
                "Too many model calls are running for this user; try again when one finishes.",
                details={"limit": policy.user_concurrency},
            )

    async def _take_reservation(self, project_id: UUID, call_id: str) -> None:
        policy = self._policy
        admitted, used, reserved = await self._reserve(
            keys=[budget_key(project_id)],
            args=[
                call_id,
                policy.call_token_reservation,
                policy.project_token_budget,
                policy.lease_ms,
            ],
        )
        if not admitted:
            raise LLMBudgetExceededError(
                "The project's token budget cannot cover another model call.",
                details={
                    "budget": policy.project_token_budget,
                    "used": int(used),
                    "reserved": int(reserved),
                    "requested": policy.call_token_reservation,
                },
            )

    async def _close(
        self, project_id: UUID, user_id: UUID, call_id: str, spent: Callable[[], int]
    ) -> None:
        try:
            await self._settle(keys=[budget_key(project_id)], args=[call_id, max(0, spent())])
        finally:
            await self._release_slot(user_id, call_id)

    async def _release_slot(self, user_id: UUID, call_id: str) -> None:
        await self._redis.zrem(inflight_key(user_id), call_id)

    async def _finish(self, work: Coroutine[Any, Any, None]) -> None:
        """Run clean-up to the end even if the calling task is being cancelled.

        The work runs as its own task, shielded; a strong reference keeps it alive should the
        caller be cancelled again. If Redis fails here the call's outcome stands and the lease
        frees the slot and reservation later, so the failure is logged, not raised over it.
        """
        task = asyncio.ensure_future(work)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        try:
            await asyncio.shield(task)
        except RedisError:
            logger.warning("llm_limits_release_failed", exc_info=True)

    @property
    def redis(self) -> "Redis":
        return self._redis

    async def usage(self, project_id: UUID) -> int:
        """Tokens settled on the project so far."""
        # redis-py types hget() as "awaitable or not" for its sync and async clients alike.
        value = await cast(
            "Awaitable[bytes | None]", self._redis.hget(budget_key(project_id), "used")
        )
        return int(value) if value is not None else 0
