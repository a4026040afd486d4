from fastapi import status

from app.core.config import SettingsError
from app.core.errors import AppError, ServiceUnavailableError


class EmbeddingsUnavailableError(ServiceUnavailableError):
    """The embeddings provider could not be reached (or the local model could not be loaded);
    trying again later may work."""

    code = "embeddings_unavailable"


class EmbeddingsFailedError(AppError):
    """The embeddings provider answered, but not with usable vectors: a refused request, a
    malformed body, or vectors of another size than configured."""

    status_code = status.HTTP_502_BAD_GATEWAY
    code = "embeddings_failed"


class ProjectLanguageUnknownError(AppError):
    """Memory is kept per language; a project's language is set from its first message."""

    status_code = status.HTTP_409_CONFLICT
    code = "project_language_unknown"

    def __init__(self) -> None:
        super().__init__("The project's language is not known yet, so nothing can be indexed.")


class MemoryCollectionMismatchError(SettingsError):
    """The configured collection exists with vectors the configured model cannot fill."""
