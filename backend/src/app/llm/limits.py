"""Per-user concurrency and token budgets per project and per user, each enforced by Lua
scripts in Redis.

Budget (one hash per project, ``proj:{project_id}:llm:budget``): field ``used`` holds settled
tokens, and each call in flight holds a field ``r:{id}`` = ``tokens:expiry_ms``. Reserving sums
``used`` and the live reservations and adds the new one only if the sum stays within the budget,
all in one script, so concurrent calls cannot overspend it. When the call ends, one script drops
its reservation and adds what the call really used; a call that failed or was cancelled adds
what it spent before stopping (often nothing); one whose project was deleted meanwhile (its
keys purged) adds nothing, since settling never creates the hash that would outlive it. A
process that dies mid-call leaves a reservation that the next reservation on that project
removes once its lease has expired.

The same budget hash, and the same scripts, count each user's tokens over all their projects
(``user:{user_id}:llm:budget``). A call reserves on both, the project's first; refused by either,
it leaves nothing reserved on the other. Both keys live for one budget window
(``JEEX_LLM_BUDGET_WINDOW_SECONDS``): the scripts set its TTL whenever the key has none, so the
window starts at the key's first use and the budget starts again once it lapses. A project's
owners can also reset its budget (the user's is per window only: an owner of a project of their
own could otherwise reset their own allowance).

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

from app.core.config import LLMSettings
from app.core.redis import project_key
from app.llm.exceptions import (
    LLMBudgetExceededError,
    LLMConcurrencyLimitError,
    LLMUserBudgetExceededError,
)

logger = structlog.get_logger(__name__)

_NOW_MS = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
"""

# Gives a budget hash without a TTL its window (ARGV[WINDOW_ARG] ms): a new key, one that the
# settlement recreated, or one from before budgets had windows.
_KEEP_WINDOW = """
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[WINDOW_ARG]))
end
"""

# KEYS[1] budget hash; ARGV: reservation id, tokens, budget, lease ms, window ms.
# Returns {1, used, reserved} when reserved, {0, used, reserved} when refused.
_RESERVE = (
    _NOW_MS
    + _KEEP_WINDOW.replace("WINDOW_ARG", "5")
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
"""
    + _KEEP_WINDOW.replace("WINDOW_ARG", "5")
    + """
return {1, used, reserved + tokens}
"""
)

# KEYS[1] budget hash; ARGV: reservation id, tokens really used, window ms. Returns the new
# total used, or false when the hash is gone. The reservation made it, so a missing hash means
# the project was deleted during the call and its keys purged: counting then would bring the
# hash back as a key that nothing would ever remove.
_SETTLE = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1])
local used = redis.call('HINCRBY', KEYS[1], 'used', ARGV[2])
"""
    + _KEEP_WINDOW.replace("WINDOW_ARG", "3")
    + """
return used
"""
)

# KEYS[1] budget hash; ARGV: window ms. What is settled goes, calls in flight stay reserved
# (and settle into the new count); the window starts again.
_RESET = """
redis.call('HDEL', KEYS[1], 'used')
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 1
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


def user_budget_key(user_id: UUID) -> str:
    return f"user:{user_id}:llm:budget"


def inflight_key(user_id: UUID) -> str:
    return f"user:{user_id}:llm:inflight"


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    project_token_budget: int
    call_token_reservation: int
    user_concurrency: int
    lease_seconds: float
    user_token_budget: int
    budget_window_seconds: int

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> "LimitPolicy":
        return cls(
            project_token_budget=settings.project_token_budget,
            call_token_reservation=settings.call_token_limit,
            user_concurrency=settings.user_concurrency,
            lease_seconds=settings.lease_seconds,
            user_token_budget=settings.user_token_budget,
            budget_window_seconds=settings.budget_window_seconds,
        )

    @property
    def lease_ms(self) -> int:
        return math.ceil(self.lease_seconds * 1000)

    @property
    def window_ms(self) -> int:
        return self.budget_window_seconds * 1000


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One budget as it stands: tokens settled, the limit, and when the window starts again
    (None: nothing spent in this window yet)."""

    used: int
    limit: int
    resets_in_seconds: int | None


class CallLimits:
    def __init__(self, redis: "Redis", policy: LimitPolicy) -> None:
        self._redis = redis
        self._policy = policy
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)
        self._reset = redis.register_script(_RESET)
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
            await self._take_user_reservation(user_id, call_id)
        except BaseException:
            await self._finish(self._release_project(project_id, user_id, call_id))
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
                policy.window_ms,
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

    async def _take_user_reservation(self, user_id: UUID, call_id: str) -> None:
        policy = self._policy
        admitted, used, reserved = await self._reserve(
            keys=[user_budget_key(user_id)],
            args=[
                call_id,
                policy.call_token_reservation,
                policy.user_token_budget,
                policy.lease_ms,
                policy.window_ms,
            ],
        )
        if not admitted:
            raise LLMUserBudgetExceededError(
                "Your token budget over all your projects cannot cover another model call.",
                details={
                    "budget": policy.user_token_budget,
                    "used": int(used),
                    "reserved": int(reserved),
                    "requested": policy.call_token_reservation,
                },
            )

    async def _close(
        self, project_id: UUID, user_id: UUID, call_id: str, spent: Callable[[], int]
    ) -> None:
        tokens = max(0, spent())
        window = self._policy.window_ms
        try:
            await self._settle(keys=[budget_key(project_id)], args=[call_id, tokens, window])
        finally:
            try:
                await self._settle(keys=[user_budget_key(user_id)], args=[call_id, tokens, window])
            finally:
                await self._release_slot(user_id, call_id)

    async def _release_project(self, project_id: UUID, user_id: UUID, call_id: str) -> None:
        """Undo the project's reservation of a call the user's budget refused."""
        try:
            await self._redis.hdel(budget_key(project_id), f"r:{call_id}")  # type: ignore[misc]
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

    async def project_budget(self, project_id: UUID) -> BudgetState:
        return await self._state(budget_key(project_id), self._policy.project_token_budget)

    async def user_budget(self, user_id: UUID) -> BudgetState:
        return await self._state(user_budget_key(user_id), self._policy.user_token_budget)

    async def reset_project_budget(self, project_id: UUID) -> None:
        await self._reset(keys=[budget_key(project_id)], args=[self._policy.window_ms])

    async def _state(self, key: str, limit: int) -> BudgetState:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "used")
            pipe.pttl(key)
            used, ttl_ms = await pipe.execute()
        return BudgetState(
            used=int(used) if used is not None else 0,
            limit=limit,
            resets_in_seconds=math.ceil(ttl_ms / 1000) if ttl_ms >= 0 else None,
        )
