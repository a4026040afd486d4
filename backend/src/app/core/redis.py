"""The shared asyncio Redis client, and the one helper that makes project-scoped keys."""

from uuid import UUID

from redis.asyncio import Redis

from app.core.config import Settings


def create_redis(settings: Settings, url: str) -> "Redis":
    return Redis.from_url(
        url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        decode_responses=False,
    )


def project_key(project_id: UUID, *parts: str) -> str:
    """Every Redis key that belongs to a project starts with ``proj:{project_id}:``."""
    if not parts:
        raise ValueError("a project key needs at least one part after the project id")
    return ":".join(("proj", str(project_id), *parts))
