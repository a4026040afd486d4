"""Long-lived clients owned by the application's lifespan."""

from dataclasses import dataclass

from qdrant_client import AsyncQdrantClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.providers import Provider, build_providers
from app.core.config import Settings
from app.core.db import create_engine, create_session_factory
from app.core.infrastructure import Endpoints
from app.core.keys import SigningKey, load_signing_key
from app.core.qdrant import create_qdrant
from app.core.redis import create_redis
from app.core.security import AccessTokens
from app.events.publisher import EventPublisher
from app.events.streams import EventStreams
from app.exports.storage import ExportStorage, LocalExportStorage
from app.memory.embeddings import create_embedder
from app.memory.store import MemoryStore


@dataclass(slots=True)
class Resources:
    settings: Settings
    endpoints: Endpoints
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: "Redis"
    qdrant: AsyncQdrantClient
    # Project memory: the collection on ``qdrant`` and this process's embeddings model.
    memory: MemoryStore
    signing_key: SigningKey
    access_tokens: AccessTokens
    # Sign-in providers are per-process clients (with cached discovery documents and JWKS), so
    # they live as long as the other clients.
    auth_providers: dict[str, Provider]
    # The one publisher of project events, and the SSE streams that read them back.
    events: EventPublisher
    event_streams: EventStreams
    # Where export archives are kept (a folder here; an object store can take its place).
    export_storage: ExportStorage

    @classmethod
    def open(cls, settings: Settings, endpoints: Endpoints) -> "Resources":
        engine = create_engine(settings, endpoints.database_url)
        signing_key = load_signing_key(settings)
        qdrant = create_qdrant(settings, endpoints)
        redis = create_redis(settings, endpoints.redis_url)
        return cls(
            settings=settings,
            endpoints=endpoints,
            engine=engine,
            session_factory=create_session_factory(engine),
            redis=redis,
            qdrant=qdrant,
            memory=MemoryStore(settings, qdrant, create_embedder(settings)),
            signing_key=signing_key,
            access_tokens=AccessTokens(settings, signing_key),
            auth_providers=build_providers(settings),
            events=EventPublisher(settings, redis),
            event_streams=EventStreams(settings, endpoints.redis_url),
            export_storage=LocalExportStorage(settings.exports_path),
        )

    async def close(self) -> None:
        await self.memory.aclose()
        await self.qdrant.close()
        await self.event_streams.aclose()
        await self.redis.aclose()
        await self.engine.dispose()
