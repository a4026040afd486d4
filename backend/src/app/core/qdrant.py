"""The Qdrant client: a server when ``JEEX_QDRANT_URL`` is set, local mode on disk otherwise.

Local mode keeps every vector in NumPy, brute-forces each search and locks its folder to one
process; it is for a single machine, not for scale.
"""

from qdrant_client import AsyncQdrantClient

from app.core.config import Settings
from app.core.infrastructure import Endpoints


def create_qdrant(settings: Settings, endpoints: Endpoints) -> AsyncQdrantClient:
    if endpoints.qdrant_url is not None:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        # The version check is a blocking HTTP call inside the constructor; /health/ready is
        # where an unreachable server is reported.
        return AsyncQdrantClient(
            url=endpoints.qdrant_url, api_key=api_key, check_compatibility=False
        )
    if endpoints.qdrant_path is None:
        raise RuntimeError("Qdrant has neither a URL nor a local path")
    endpoints.qdrant_path.mkdir(parents=True, exist_ok=True)
    return AsyncQdrantClient(path=str(endpoints.qdrant_path))
