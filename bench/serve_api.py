"""Serve one app the way ``uvicorn --factory … --no-access-log`` does, plus measuring probes.

    python bench/serve_api.py --factory app.main:app_from_environment --port 8000 \
        --probes lag,tracing --probe-file /tmp/probes.json

uvicorn runs on uvloop with httptools, one worker, without its access log (the app logs every
request itself through structlog). The probes never change what the app does; they record and,
on SIGTERM, write a JSON file:

- ``lag``: an asyncio task sleeping 10 ms over and over on the server's own loop, recording how
  late each wake-up is (the event-loop lag), with the wall-clock time of each sample;
- ``tracing``: installs the OpenTelemetry SDK (a ``TracerProvider`` with a
  ``BatchSpanProcessor``) before the app is built, so every instrumentation produces real spans,
  and exports them to an exporter that only counts them: the spans' whole cost in the API
  process, without OTLP's encoding and network;
- ``gc``: the start, duration and generation of every garbage collection (``gc.callbacks``);
- ``turns``: the start and duration of every embeddings call and every model call the LLM
  gateway makes, to split a conversation turn's time.
"""

import argparse
import asyncio
import functools
import gc
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
import uvloop

LAG_INTERVAL_SECONDS = 0.010
Records = dict[str, list[list[float]]]
T = TypeVar("T")


async def sample_lag(samples: list[list[float]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(LAG_INTERVAL_SECONDS)
        late = loop.time() - before - LAG_INTERVAL_SECONDS
        samples.append([time.time(), max(0.0, late) * 1000])


def install_tracing(records: Records) -> Any:
    """Returns the provider, to be shut down (flushing its last batch) before the file is
    written."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    counted = records.setdefault("spans_exported", [[0.0]])

    class CountingExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            counted[0][0] += len(spans)
            return SpanExportResult.SUCCESS

    provider = TracerProvider(resource=Resource.create({"service.name": "jeex-idea"}))
    provider.add_span_processor(BatchSpanProcessor(CountingExporter()))
    trace.set_tracer_provider(provider)
    return provider


def timed(
    method: Callable[..., Awaitable[T]], samples: list[list[float]]
) -> Callable[..., Awaitable[T]]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        started_wall, started = time.time(), time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            samples.append([started_wall, (time.perf_counter() - started) * 1000])

    return wrapper


def install_turn_probes(records: Records) -> None:
    """Time embeddings and model calls where the engine makes them (class attributes: every
    instance the app creates later is covered)."""
    from app.llm.service import LLMGateway
    from app.memory.embeddings.base import Embedder

    calls = records.setdefault("model_calls", [])
    LLMGateway.generate = timed(LLMGateway.generate, calls)  # type: ignore[method-assign]
    LLMGateway.stream_text = timed(LLMGateway.stream_text, calls)  # type: ignore[method-assign]
    Embedder.embed = timed(Embedder.embed, records.setdefault("embeddings", []))  # type: ignore[method-assign]


def install_gc_probe(records: Records) -> None:
    samples = records.setdefault("gc", [])
    started: list[float] = [0.0, 0.0]

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.time(), time.perf_counter()]
        else:
            elapsed = (time.perf_counter() - started[1]) * 1000
            samples.append([started[0], elapsed, float(info["generation"])])

    gc.callbacks.append(on_collection)


async def serve(arguments: argparse.Namespace, records: Records) -> None:
    config = uvicorn.Config(
        arguments.factory,
        factory=True,
        host="127.0.0.1",
        port=arguments.port,
        loop="none",  # this process already runs uvloop
        http="httptools",
        access_log=False,
        log_level="warning",
        backlog=4096,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    lag_task = None
    if "lag" in arguments.probes:
        lag_task = asyncio.create_task(sample_lag(records.setdefault("lag", [])))
    try:
        await server.serve()
    finally:
        if lag_task is not None:
            lag_task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--factory", required=True, help="module:callable returning the app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--probes", default="lag", help="comma-separated: lag, tracing, gc, turns")
    parser.add_argument("--probe-file", type=Path, required=True)
    arguments = parser.parse_args()
    arguments.probes = {name for name in arguments.probes.split(",") if name}

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # factories of bench/ itself
    from _harness import raise_fd_limit

    raise_fd_limit()
    # uvicorn restores the handlers it found and re-raises SIGTERM once it has shut down; with
    # the default handler that would kill the process before the probes are written.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    records: Records = {}
    provider = install_tracing(records) if "tracing" in arguments.probes else None
    if "turns" in arguments.probes:
        install_turn_probes(records)
    if "gc" in arguments.probes:
        install_gc_probe(records)
    try:
        uvloop.run(serve(arguments, records))
    finally:
        if provider is not None:
            provider.shutdown()  # exports what the batch processor still holds
        arguments.probe_file.write_text(json.dumps(records))


if __name__ == "__main__":
    main()
