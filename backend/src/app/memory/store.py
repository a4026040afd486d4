"""The process's handle on project memory: the Qdrant collection and the embeddings model.

``start()`` runs once at start-up (the API's lifespan; a worker process calls it too). It
creates the collection when it is missing and refuses one whose vectors have another shape,
then loads the embeddings model in the background: start-up does not wait the seconds that
loading PyTorch takes, yet the log says when the model is ready (or why it is not), and a call
that arrives before then waits for that same load instead of starting another.

A Qdrant server that cannot be reached at start-up does not stop it (``/health/ready`` reports
it, as for the other parts): the collection is then set up by the first memory call that
reaches the server, and a collection of the wrong shape fails that call instead.
"""

import asyncio
import contextlib
import time
import warnings

import structlog
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from app.core.config import MemorySettings
from app.memory import constants
from app.memory.embeddings import Embedder
from app.memory.exceptions import EmbeddingsUnavailableError, MemoryCollectionMismatchError

logger = structlog.get_logger(__name__)

# Keyword indexes make filtered search and filtered deletes cheap on a Qdrant server.
# ``project_id`` is the tenant: with ``is_tenant`` the server keeps each project's points
# together, so a project's search reads only its own vectors.
_KEYWORD_INDEXES = (
    constants.LANGUAGE,
    constants.SOURCE,
    constants.DOCUMENT_TYPE,
    constants.CHUNK_HASH,
)
_HTTP_CONFLICT = 409


class MemoryStore:
    def __init__(
        self, settings: MemorySettings, qdrant: AsyncQdrantClient, embedder: Embedder
    ) -> None:
        self.settings = settings
        self.qdrant = qdrant
        self.embedder = embedder
        self._collection = settings.collection
        self._collection_checked = False
        self._collection_lock = asyncio.Lock()
        self._warm_up: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self.collection()
        except ResponseHandlingException as error:
            logger.warning(
                "memory.collection.deferred",
                collection=self._collection,
                reason=type(error.source).__name__,
            )
        self._warm_up = asyncio.create_task(self._load_model(), name="memory-model-warm-up")

    async def warmed_up(self) -> None:
        """Return once the background loading of the embeddings model is over, however it
        ended (a failure is logged where it happens)."""
        if self._warm_up is not None:
            await asyncio.wait([self._warm_up])

    async def collection(self) -> str:
        """The collection's name, once it is known to exist with the right shape."""
        if not self._collection_checked:
            async with self._collection_lock:
                if not self._collection_checked:
                    await self.ensure_collection()
                    self._collection_checked = True
        return self._collection

    async def aclose(self) -> None:
        if self._warm_up is not None and not self._warm_up.done():
            self._warm_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warm_up
        await self.embedder.aclose()

    async def ensure_collection(self) -> None:
        size = self.settings.embeddings.dimensions
        if not await self.qdrant.collection_exists(self._collection):
            try:
                await self.qdrant.create_collection(
                    self._collection,
                    vectors_config=models.VectorParams(size=size, distance=models.Distance.COSINE),
                )
            except UnexpectedResponse as error:
                # Another replica starting at the same moment created it first.
                if error.status_code != _HTTP_CONFLICT:
                    raise
            logger.info("memory.collection.created", collection=self._collection, size=size)
        await self._check_vectors(size)
        await self._ensure_indexes()

    async def _check_vectors(self, size: int) -> None:
        info = await self.qdrant.get_collection(self._collection)
        vectors = info.config.params.vectors
        if not isinstance(vectors, models.VectorParams):
            raise MemoryCollectionMismatchError(
                f"The Qdrant collection {self._collection!r} uses named vectors; project memory "
                "needs one unnamed vector per point. Set JEEX_MEMORY_COLLECTION to a new name."
            )
        if vectors.size != size or vectors.distance != models.Distance.COSINE:
            raise MemoryCollectionMismatchError(
                f"The Qdrant collection {self._collection!r} holds {vectors.distance} vectors of "
                f"size {vectors.size}, but the embeddings model ({self.embedder.model}) makes "
                f"cosine vectors of size {size} (JEEX_EMBEDDINGS_DIMENSIONS). Point "
                "JEEX_MEMORY_COLLECTION at a new collection and re-index, or delete the old one."
            )

    async def _ensure_indexes(self) -> None:
        tenant = models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
        keyword = models.PayloadSchemaType.KEYWORD
        indexes: list[tuple[str, models.PayloadSchemaType | models.KeywordIndexParams]] = [
            (constants.PROJECT_ID, tenant),
            *((name, keyword) for name in _KEYWORD_INDEXES),
            (constants.VERSION, models.PayloadSchemaType.INTEGER),
        ]
        existing = (await self.qdrant.get_collection(self._collection)).payload_schema
        with warnings.catch_warnings():
            # Local mode accepts payload indexes but ignores them, and warns so once per
            # process; the README says so instead.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for name, schema in indexes:
                if name not in existing:
                    await self.qdrant.create_payload_index(
                        self._collection, name, field_schema=schema, wait=True
                    )

    async def _load_model(self) -> None:
        started = time.perf_counter()
        try:
            await self.embedder.warm_up()
        except EmbeddingsUnavailableError as error:
            # The service still runs; every memory call fails with this same error until the
            # model can be loaded, and this line tells the operator why at start-up.
            logger.error("memory.embeddings.not_ready", model=self.embedder.model, error=str(error))
            return
        logger.info(
            "memory.embeddings.ready",
            model=self.embedder.model,
            seconds=round(time.perf_counter() - started, 2),
        )
