"""Long-lived clients owned by the application's lifespan."""

from dataclasses import dataclass

from qdrant_client import AsyncQdrantClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_session_factory
from app.core.infrastructure import Endpoints
from app.core.keys import SigningKey, load_signing_key
from app.core.qdrant import create_qdrant
from app.core.redis import create_redis


@dataclass(slots=True)
class Resources:
    settings: Settings
    endpoints: Endpoints
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: "Redis"
    qdrant: AsyncQdrantClient
    signing_key: SigningKey

    @classmethod
    def open(cls, settings: Settings, endpoints: Endpoints) -> "Resources":
        engine = create_engine(settings, endpoints.database_url)
        return cls(
            settings=settings,
            endpoints=endpoints,
            engine=engine,
            session_factory=create_session_factory(engine),
            redis=create_redis(settings, endpoints.redis_url),
            qdrant=create_qdrant(settings, endpoints),
            signing_key=load_signing_key(settings),
        )

    async def close(self) -> None:
        await self.qdrant.close()
        await self.redis.aclose()
        await self.engine.dispose()
