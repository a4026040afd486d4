"""The collection is made at start-up, and one that does not fit the model stops it."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException

from app.core.config import Settings
from app.memory.embeddings import Embedder
from app.memory.exceptions import EmbeddingsUnavailableError, MemoryCollectionMismatchError
from app.memory.store import MemoryStore
from app.resources import Resources
from tests.conftest import make_settings


class IdleEmbedder(Embedder):
    """Never embeds; its warm-up fails, or waits until released."""

    def __init__(self, settings: Settings, *, fails: bool) -> None:
        super().__init__(model="idle", dimensions=settings.embeddings_size, batch_size=8)
        self.fails = fails
        self.release = asyncio.Event()
        self.closed = False

    async def warm_up(self) -> None:
        if self.fails:
            raise EmbeddingsUnavailableError("no model here")
        await self.release.wait()

    async def aclose(self) -> None:
        self.closed = True

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        raise AssertionError("not used")


@pytest.fixture
async def qdrant(tmp_path: Path) -> AsyncIterator[AsyncQdrantClient]:
    client = AsyncQdrantClient(path=str(tmp_path / "qdrant"))
    yield client
    await client.close()


def store_for(qdrant: AsyncQdrantClient, settings: Settings, *, fails: bool = False) -> MemoryStore:
    return MemoryStore(settings.memory, qdrant, IdleEmbedder(settings, fails=fails))


async def test_start_up_creates_the_collection(resources: Resources) -> None:
    info = await resources.qdrant.get_collection(resources.settings.memory_collection)
    assert isinstance(info.config.params.vectors, models.VectorParams)
    assert info.config.params.vectors.size == 384
    assert info.config.params.vectors.distance is models.Distance.COSINE


async def test_an_existing_collection_of_the_right_shape_is_kept(
    qdrant: AsyncQdrantClient, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, memory_collection="kept")
    store = store_for(qdrant, settings)
    await store.ensure_collection()
    await qdrant.upsert("kept", points=[models.PointStruct(id=1, vector=[0.1] * 384)])
    await store.ensure_collection()
    assert (await qdrant.count("kept")).count == 1


async def test_a_collection_of_another_size_stops_start_up_naming_both(
    qdrant: AsyncQdrantClient, tmp_path: Path
) -> None:
    await qdrant.create_collection(
        "memory", vectors_config=models.VectorParams(size=1536, distance=models.Distance.COSINE)
    )
    store = store_for(qdrant, make_settings(tmp_path, memory_collection="memory"))
    with pytest.raises(MemoryCollectionMismatchError, match=r"size 1536.*size 384"):
        await store.start()


async def test_a_collection_of_named_vectors_stops_start_up(
    qdrant: AsyncQdrantClient, tmp_path: Path
) -> None:
    await qdrant.create_collection(
        "memory",
        vectors_config={"text": models.VectorParams(size=384, distance=models.Distance.COSINE)},
    )
    store = store_for(qdrant, make_settings(tmp_path, memory_collection="memory"))
    with pytest.raises(MemoryCollectionMismatchError, match="named vectors"):
        await store.ensure_collection()


async def test_a_model_that_cannot_load_does_not_stop_start_up(
    qdrant: AsyncQdrantClient, tmp_path: Path
) -> None:
    store = store_for(qdrant, make_settings(tmp_path), fails=True)
    await store.start()
    assert store._warm_up is not None
    await store._warm_up  # logged, not raised: memory calls fail on their own later
    await store.aclose()


async def test_closing_during_the_warm_up_cancels_it(
    qdrant: AsyncQdrantClient, tmp_path: Path
) -> None:
    store = store_for(qdrant, make_settings(tmp_path))
    await store.start()
    await asyncio.sleep(0)
    await store.aclose()
    assert store._warm_up is not None
    assert store._warm_up.cancelled()
    assert isinstance(store.embedder, IdleEmbedder)
    assert store.embedder.closed


async def test_an_unreachable_server_defers_the_collection_to_the_first_call(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    # Nothing listens on port 1: start-up goes on, and /health/ready reports Qdrant.
    unreachable = AsyncQdrantClient(url="http://127.0.0.1:1", check_compatibility=False)
    store = store_for(unreachable, settings)
    await store.start()
    with pytest.raises(ResponseHandlingException):
        await store.collection()
    await store.aclose()
    await unreachable.close()


async def test_the_collection_is_checked_once_per_process(
    qdrant: AsyncQdrantClient, tmp_path: Path
) -> None:
    store = store_for(qdrant, make_settings(tmp_path, memory_collection="once"))
    assert list(await asyncio.gather(store.collection(), store.collection())) == ["once", "once"]
    await qdrant.delete_collection("once")
    assert await store.collection() == "once"  # not checked again
