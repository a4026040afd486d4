"""What every embeddings provider offers: texts in, vectors of the configured size out."""

from abc import ABC, abstractmethod
from collections.abc import Sequence

from app.memory.exceptions import EmbeddingsFailedError


class Embedder(ABC):
    def __init__(self, *, model: str, dimensions: int, batch_size: int) -> None:
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order. Each provider call takes at most ``batch_size``
        texts; every vector is checked to have the collection's size, so a model swapped
        behind the same name cannot write vectors of another shape."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            answer = await self._embed_batch(batch)
            if len(answer) != len(batch):
                raise EmbeddingsFailedError(
                    f"The embeddings model returned {len(answer)} vectors for {len(batch)} texts."
                )
            for vector in answer:
                if len(vector) != self.dimensions:
                    raise EmbeddingsFailedError(
                        f"The embeddings model returned vectors of size {len(vector)}, not the "
                        f"configured {self.dimensions} (JEEX_EMBEDDINGS_DIMENSIONS)."
                    )
            vectors.extend(answer)
        return vectors

    @abstractmethod
    async def warm_up(self) -> None:
        """Prepare so that the first real call is fast (e.g. load a model)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release what this embedder holds."""

    @abstractmethod
    async def _embed_batch(self, texts: list[str]) -> list[list[float]]: ...
