"""The composition root's resources: the long-lived clients owned by the application's lifespan,
wired together here, above every domain.

No domain imports this module. Each states what it needs as a ``Protocol`` (e.g.
:class:`app.exports.resources.ExportResources`) and receives a :class:`Resources`, which
:func:`_satisfies_every_domain` checks against all of them.
"""

from dataclasses import dataclass
from functools import partial

import structlog
from qdrant_client import AsyncQdrantClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.principals import (
    PrincipalCache,
    ProfileCache,
    new_principal_cache,
    new_profile_cache,
)
from app.auth.providers import Provider, build_providers
from app.auth.resources import AuthResources
from app.conversation import store as conversation_store
from app.conversation.resources import ConversationResources
from app.core.config import Settings
from app.core.db import create_engine, create_read_session_factory, create_session_factory
from app.core.infrastructure import Endpoints
from app.core.keys import SigningKey, load_signing_key
from app.core.qdrant import create_qdrant
from app.core.rate_limit import RateLimiter
from app.core.redis import create_redis
from app.core.security import AccessTokens
from app.documents.resources import DocumentResources, PersonVersionHook
from app.events.publisher import EventPublisher
from app.events.streams import EventStreams
from app.events.transaction import publishing
from app.exports.resources import ExportResources
from app.exports.storage import ExportStorage, LocalExportStorage
from app.health.resources import HealthResources
from app.mcp.resources import McpResources
from app.memory import service as memory_service
from app.memory.embeddings import create_embedder
from app.memory.store import MemoryStore
from app.projects import service as project_service
from app.projects.memberships import MembershipCache, new_membership_cache
from app.projects.resources import ProjectResources
from app.projects.scoping import AccessibleProjectID
from app.streams.resources import StreamResources

logger = structlog.get_logger(__name__)


@dataclass(slots=True)
class Resources:
    settings: Settings
    endpoints: Endpoints
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    # The same pool, for the routes that only read (app.core.deps.read_only).
    read_session_factory: async_sessionmaker[AsyncSession]
    redis: "Redis"
    qdrant: AsyncQdrantClient
    # Project memory: the collection on ``qdrant`` and this process's embeddings model.
    memory: MemoryStore
    signing_key: SigningKey
    access_tokens: AccessTokens
    # Sign-in providers are per-process clients (with cached discovery documents and JWKS), so
    # they live as long as the other clients.
    auth_providers: dict[str, Provider]
    # Every request's rate limits, counted in one round trip; and who its bearer is, as this
    # replica last checked (dropped everywhere when the user's credentials stamp is renewed).
    rate_limiter: RateLimiter
    principals: PrincipalCache
    profiles: ProfileCache
    # Memberships this replica read, dropped when the project's access stamp is renewed.
    memberships: MembershipCache
    # The one publisher of project events, and the SSE streams that read them back.
    events: EventPublisher
    event_streams: EventStreams
    # Where export archives are kept (a folder here; an object store can take its place).
    export_storage: ExportStorage
    # A person's new version is indexed into memory, and what it made stale is said in the chat.
    after_person_version: PersonVersionHook = conversation_store.after_person_version

    @classmethod
    def open(cls, settings: Settings, endpoints: Endpoints) -> "Resources":
        engine = create_engine(settings, endpoints.database_url)
        signing_key = load_signing_key(settings)
        qdrant = create_qdrant(settings, endpoints)
        redis = create_redis(settings, endpoints.redis_url)
        events = EventPublisher(settings.events, redis)
        return cls(
            settings=settings,
            endpoints=endpoints,
            engine=engine,
            # Every unit of work publishes the events that committed with it.
            session_factory=create_session_factory(engine, on_commit=[publishing(events)]),
            read_session_factory=create_read_session_factory(engine),
            redis=redis,
            qdrant=qdrant,
            memory=MemoryStore(settings.memory, qdrant, create_embedder(settings.embeddings)),
            signing_key=signing_key,
            access_tokens=AccessTokens(settings.auth, signing_key),
            auth_providers=build_providers(settings.auth),
            rate_limiter=RateLimiter(redis),
            principals=new_principal_cache(),
            profiles=new_profile_cache(),
            memberships=new_membership_cache(),
            events=events,
            event_streams=EventStreams(
                settings.events,
                endpoints.redis_url,
                redis_timeout_seconds=settings.redis.timeout_seconds,
            ),
            export_storage=LocalExportStorage(settings.exports.directory),
        )

    async def purge_project(self, project_id: AccessibleProjectID) -> None:
        """What a deleted project leaves outside its rows: its Redis keys, its memory and its
        export archives. Each step runs whatever happened to the one before; the first failure
        is raised once all have run, so the caller still learns the purge was incomplete."""
        failures: list[Exception] = []
        for step in (
            partial(project_service.purge_project_keys, self.redis, project_id),
            partial(memory_service.purge_project, self.memory, project_id),
            partial(self.export_storage.delete_project, project_id),
        ):
            try:
                await step()
            except Exception as error:
                logger.exception("project_purge_step_failed", project_id=str(project_id))
                failures.append(error)
        if failures:
            raise failures[0]

    async def close(self) -> None:
        await self.memory.aclose()
        await self.qdrant.close()
        await self.event_streams.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


def _satisfies_every_domain(resources: Resources) -> None:
    """Never called: mypy checks here that Resources gives each domain what it asks for."""
    needs: tuple[
        AuthResources,
        ProjectResources,
        ConversationResources,
        ExportResources,
        HealthResources,
        StreamResources,
        McpResources,
        DocumentResources,
    ] = (resources, resources, resources, resources, resources, resources, resources, resources)
    del needs
