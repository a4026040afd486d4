from pathlib import Path

from qdrant_client import models

from app.core.infrastructure import Endpoints, Part
from app.core.qdrant import create_qdrant
from tests.conftest import make_settings


async def test_local_qdrant_keeps_its_points_across_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    endpoints = Endpoints(
        database_url="postgresql+asyncpg://unused@/unused",
        redis_url="redis://127.0.0.1:1/0",
        qdrant_url=None,
        qdrant_path=tmp_path / "qdrant",
        embedded=frozenset({Part.QDRANT}),
    )
    first = create_qdrant(settings, endpoints)
    await first.create_collection(
        "memory", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE)
    )
    await first.upsert(
        "memory",
        points=[models.PointStruct(id=1, vector=[1.0, 0.0, 0.0], payload={"text": "kept"})],
    )
    await first.close()

    second = create_qdrant(settings, endpoints)
    try:
        points, _ = await second.scroll("memory", with_payload=True)
    finally:
        await second.close()
    assert [point.payload for point in points] == [{"text": "kept"}]
