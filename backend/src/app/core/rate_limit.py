"""Fixed-window rate limits in Redis, counted atomically by one Lua script per request."""

from dataclasses import dataclass

from fastapi import status
from redis.asyncio import Redis

from app.core.errors import AppError

# INCR and the first PEXPIRE must happen together, or a crash between them would leave a
# counter that never expires and a client locked out for good.
_COUNT_IN_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
return {count, ttl}
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


async def enforce(redis: "Redis", limit: Limit) -> None:
    """Count one request against ``limit``; over it, raise with the seconds until it resets."""
    script = redis.register_script(_COUNT_IN_WINDOW)  # EVALSHA, loading the script on a miss
    count, ttl_ms = await script(keys=[limit.key], args=[limit.window_seconds * 1000])
    if int(count) > limit.per_window:
        retry_after = max(1, -(-int(ttl_ms) // 1000))
        raise RateLimitedError(limit.scope, retry_after)
