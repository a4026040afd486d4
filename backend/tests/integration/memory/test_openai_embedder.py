"""The openai provider against a real HTTP server on loopback."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from qdrant_client import models

from app.core.config import Settings
from app.core.infrastructure import Endpoints
from app.memory import service as memory_service
from app.memory.embeddings import create_embedder
from app.memory.embeddings.openai import OpenAIEmbedder
from app.memory.exceptions import EmbeddingsFailedError, EmbeddingsUnavailableError
from app.projects.stages import DocumentType
from tests.conftest import client_for, make_settings
from tests.integration.memory.conftest import Memory
from tests.integration.memory.embeddings_server import EmbeddingsServer, vector_for

SIZE = 16


@pytest.fixture
async def server() -> AsyncIterator[EmbeddingsServer]:
    async with EmbeddingsServer(size=SIZE) as running:
        yield running


def settings_for(server: EmbeddingsServer, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "embeddings_provider": "openai",
        "embeddings_base_url": server.base_url,
        "embeddings_model": "nomic-embed-text",
        "embeddings_dimensions": SIZE,
        "embeddings_api_key": "sk-local-test",
        "embeddings_batch_size": 2,
        "embeddings_max_attempts": 3,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


@pytest.fixture
async def embedder(server: EmbeddingsServer, tmp_path: Path) -> AsyncIterator[OpenAIEmbedder]:
    made = create_embedder(settings_for(server, tmp_path).embeddings)
    assert isinstance(made, OpenAIEmbedder)
    yield made
    await made.aclose()


async def test_texts_are_sent_in_batches_with_the_model_and_key(
    server: EmbeddingsServer, embedder: OpenAIEmbedder
) -> None:
    await embedder.warm_up()
    assert server.requests == []  # start-up spends no request
    vectors = await embedder.embed(["one", "two", "three"])
    assert vectors == [vector_for(text, SIZE) for text in ("one", "two", "three")]
    assert [body["input"] for _, body in server.requests] == [["one", "two"], ["three"]]
    headers, body = server.requests[0]
    assert headers["authorization"] == "Bearer sk-local-test"
    assert body["model"] == "nomic-embed-text"


async def test_vectors_come_back_in_the_order_of_the_texts(
    server: EmbeddingsServer, embedder: OpenAIEmbedder
) -> None:
    server.reverse_order = True
    assert await embedder.embed(["a", "b"]) == [vector_for("a", SIZE), vector_for("b", SIZE)]


async def test_rate_limits_and_server_errors_are_retried(
    server: EmbeddingsServer, embedder: OpenAIEmbedder
) -> None:
    server.plan = [429, 503]
    assert await embedder.embed(["a"]) == [vector_for("a", SIZE)]
    assert len(server.requests) == 3


async def test_a_provider_that_keeps_failing_is_unavailable(
    server: EmbeddingsServer, embedder: OpenAIEmbedder
) -> None:
    server.plan = [500, 502, 500]
    with pytest.raises(EmbeddingsUnavailableError, match="after 3 attempts") as caught:
        await embedder.embed(["a"])
    assert "secret provider words" not in caught.value.message
    assert len(server.requests) == 3


async def test_an_unreachable_provider_is_unavailable(tmp_path: Path) -> None:
    async with EmbeddingsServer(size=SIZE) as gone:
        settings = settings_for(gone, tmp_path, embeddings_max_attempts=1)
    embedder = create_embedder(settings.embeddings)
    with pytest.raises(EmbeddingsUnavailableError):
        await embedder.embed(["a"])
    await embedder.aclose()


async def test_a_refused_request_is_not_retried(
    server: EmbeddingsServer, embedder: OpenAIEmbedder
) -> None:
    server.plan = [401]
    with pytest.raises(EmbeddingsFailedError, match=r"refused the request \(HTTP 401\)") as caught:
        await embedder.embed(["a"])
    assert "secret provider words" not in caught.value.message
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("malformed", "not an embeddings list"),
        ("short", "1 vectors for 2 texts"),
        ("wrong-size", "size 17, not the configured 16"),
    ],
)
async def test_an_unusable_answer_fails(
    server: EmbeddingsServer, embedder: OpenAIEmbedder, answer: str, message: str
) -> None:
    server.plan = [answer]
    with pytest.raises(EmbeddingsFailedError, match=message):
        await embedder.embed(["a", "b"])


async def test_a_server_without_a_key_gets_no_authorization_header(
    server: EmbeddingsServer, tmp_path: Path
) -> None:
    embedder = create_embedder(settings_for(server, tmp_path, embeddings_api_key=None).embeddings)
    await embedder.embed(["a"])
    await embedder.aclose()
    assert "authorization" not in server.requests[0][0]


async def test_the_service_runs_on_an_openai_compatible_provider(
    server: EmbeddingsServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> None:
    settings = settings_for(server, tmp_path, memory_collection="remote_memory")
    async with client_for(settings, endpoints) as (_, resources):
        memory = Memory(resources)
        project = await memory.project("de")
        await memory.index_section(project, "## Zahlung\n\nRechnungen per SEPA.", DocumentType.IDEA)
        async with resources.session_factory() as own_session:
            hits = await memory_service.search(
                own_session, resources.memory, project, "Zahlung\n\nRechnungen per SEPA."
            )
        info = await resources.qdrant.get_collection("remote_memory")
    assert [hit.text for hit in hits] == ["Zahlung\n\nRechnungen per SEPA."]
    assert hits[0].score == pytest.approx(1.0)
    assert isinstance(info.config.params.vectors, models.VectorParams)
    assert info.config.params.vectors.size == SIZE
