"""Project-memory search latency in embedded mode (qdrant-client local mode on disk).

    .venv/bin/python bench/memory_search.py [--sizes 1000,10000,50000] [--searches 300]

The collection is made by the service's own code (``MemoryStore.ensure_collection``), filled
through ``app.memory.repository.upsert`` with payloads shaped like the real ones, and searched
through ``app.memory.repository.search`` - the filtered (project AND language), grouped by
chunk hash call every memory search makes. Vectors are synthetic (random unit vectors, 384
dimensions like all-MiniLM-L6-v2): embedding 50 000 chunks with the real model would take
most of an hour here and would not change what is measured, since local mode scores every
vector the same way whatever it holds. The real model's cost of embedding the query itself,
which every search adds, is measured separately.

The chunks are spread over projects of 500 chunks each (a project's four documents, their
sections and the user's answers), half of them ``en`` and half ``ru``; each search targets a
random project. Sizes are cumulative: the collection grows from one size to the next. Also
reported: the same search without grouping (plain ``query_points``), the time to re-open the
collection (local mode reads every point into memory when it opens) and the process's memory.
"""

import argparse
import asyncio
import gc
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
from qdrant_client import AsyncQdrantClient, models

from app.core.config import LogFormat, Settings
from app.core.logging import configure_logging
from app.memory import constants
from app.memory import repository as memory_repository
from app.memory.constants import MemorySource
from app.memory.embeddings.local import LocalEmbedder
from app.memory.repository import MemoryPoint
from app.memory.store import MemoryStore
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

DIMENSIONS = 384
PROJECT_SIZE = 500
INSERT_BATCH = 1000
LANGUAGES = ("en", "ru")
DOCUMENT_TYPES = tuple(DocumentType)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


class Corpus:
    def __init__(self, store: MemoryStore, seed: int) -> None:
        self.store = store
        self.rng = np.random.default_rng(seed)
        self.projects: list[tuple[AccessibleProjectID, str]] = []
        self.size = 0

    async def grow_to(self, size: int) -> float:
        started = time.perf_counter()
        while self.size < size:
            if self.size % PROJECT_SIZE == 0:
                language = LANGUAGES[len(self.projects) % len(LANGUAGES)]
                self.projects.append((AccessibleProjectID(uuid.uuid4()), language))
            project_id, language = self.projects[-1]
            count = min(INSERT_BATCH, size - self.size, PROJECT_SIZE - self.size % PROJECT_SIZE)
            points = [
                MemoryPoint(
                    id=str(uuid.uuid4()),
                    vector=vector.tolist(),
                    payload={
                        constants.PROJECT_ID: str(project_id),
                        constants.LANGUAGE: language,
                        constants.SOURCE: MemorySource.DOCUMENT,
                        constants.DOCUMENT_TYPE: DOCUMENT_TYPES[index % len(DOCUMENT_TYPES)],
                        constants.VERSION: 1,
                        constants.CHUNK_HASH: uuid.uuid4().hex,
                        constants.HEADING: "Section",
                        constants.TEXT: f"chunk {self.size + index}",
                    },
                )
                for index, vector in enumerate(unit_vectors(self.rng, count))
            ]
            await memory_repository.upsert(self.store, project_id, points)
            self.size += count
        return time.perf_counter() - started


async def time_searches(
    store: MemoryStore, corpus: Corpus, searches: int, *, grouped: bool
) -> list[float]:
    rng = random.Random(7)  # noqa: S311 - a reproducible choice of projects, not a secret
    queries = unit_vectors(corpus.rng, searches + 10)
    samples = []
    for number, query in enumerate(queries):
        project_id, language = rng.choice(corpus.projects)
        started = time.perf_counter()
        if grouped:
            hits = await memory_repository.search(
                store, project_id, language, query.tolist(), limit=8
            )
        else:
            hits = (
                await store.qdrant.query_points(
                    await store.collection(),
                    query=query.tolist(),
                    query_filter=models.Filter(
                        must=[
                            models.FieldCondition(
                                key=constants.PROJECT_ID,
                                match=models.MatchValue(value=str(project_id)),
                            ),
                            models.FieldCondition(
                                key=constants.LANGUAGE, match=models.MatchValue(value=language)
                            ),
                        ]
                    ),
                    limit=8,
                )
            ).points
        elapsed = time.perf_counter() - started
        assert len(hits) == 8
        if number >= 10:  # the first few warm caches up
            samples.append(elapsed)
    return samples


async def query_embedding(settings: Settings, searches: int) -> list[float]:
    embedder = LocalEmbedder(settings.embeddings)
    await embedder.warm_up()
    questions = [
        f"What did the experts decide about storage and backups for release {number}?"
        for number in range(searches)
    ]
    samples = []
    for question in questions:
        started = time.perf_counter()
        await embedder.embed([question])
        samples.append(time.perf_counter() - started)
    return samples


def row(label: str, samples: list[float]) -> str:
    milliseconds = [sample * 1000 for sample in samples]
    return (
        f"| {label} | {statistics.median(milliseconds):.2f} | "
        f"{percentile(milliseconds, 0.95):.2f} | {percentile(milliseconds, 0.99):.2f} |"
    )


async def main(sizes: list[int], searches: int) -> None:
    configure_logging("WARNING", LogFormat.CONSOLE)
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="jeex-memory-bench-") as folder:
        settings = Settings(data_dir=Path(folder), memory_collection="bench")
        qdrant = AsyncQdrantClient(path=str(Path(folder) / "qdrant"))
        store = MemoryStore(settings.memory, qdrant, LocalEmbedder(settings.embeddings))
        await store.ensure_collection()
        corpus = Corpus(store, seed=42)
        print("| chunks | projects | search p50 ms | p95 ms | p99 ms | ungrouped p95 ms |")
        print("|---:|---:|---:|---:|---:|---:|")
        for size in sizes:
            await corpus.grow_to(size)
            gc.collect()
            grouped = await time_searches(store, corpus, searches, grouped=True)
            plain = await time_searches(store, corpus, searches, grouped=False)
            ms = [sample * 1000 for sample in grouped]
            print(
                f"| {size:,} | {len(corpus.projects)} | {statistics.median(ms):.2f} | "
                f"{percentile(ms, 0.95):.2f} | {percentile(ms, 0.99):.2f} | "
                f"{percentile([s * 1000 for s in plain], 0.95):.2f} |",
                flush=True,
            )
        resident = process.memory_info().rss / 2**20
        print(f"\nresident memory with {corpus.size:,} chunks: {resident:.0f} MiB")
        await qdrant.close()

        started = time.perf_counter()
        reopened = AsyncQdrantClient(path=str(Path(folder) / "qdrant"))
        await reopened.count("bench")
        seconds = time.perf_counter() - started
        print(f"re-opening the collection ({corpus.size:,} chunks): {seconds:.1f} s")
        await reopened.close()

        print("\n| query embedding (all-MiniLM-L6-v2, CPU) | p50 ms | p95 ms | p99 ms |")
        print("|---|---:|---:|---:|")
        print(row("one question", await query_embedding(settings, searches)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--searches", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(main([int(size) for size in arguments.sizes.split(",")], arguments.searches))
