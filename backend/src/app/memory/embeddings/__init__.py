"""Embeddings providers, chosen by ``JEEX_EMBEDDINGS_PROVIDER``."""

from app.core.config import EmbeddingsProvider, EmbeddingsSettings
from app.memory.embeddings.base import Embedder


def create_embedder(settings: EmbeddingsSettings) -> Embedder:
    # Imported per provider: the local one brings PyTorch, which a server using a remote
    # endpoint should never load.
    if settings.provider is EmbeddingsProvider.OPENAI:
        from app.memory.embeddings.openai import OpenAIEmbedder

        return OpenAIEmbedder(settings)
    from app.memory.embeddings.local import LocalEmbedder

    return LocalEmbedder(settings)


__all__ = ["Embedder", "create_embedder"]
