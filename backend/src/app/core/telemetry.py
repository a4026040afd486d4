"""OpenTelemetry, only when spans go somewhere.

Instrumenting costs even with nothing to send them to: the FastAPI, SQLAlchemy and Redis
instrumentations build a no-op span, its attributes and its context for every request and every
statement, about 15 % of the CPU of a plain request (``scripts/bench``, item 1). So nothing is
instrumented unless ``OTEL_*`` asks for an exporter, or the process that hosts the app installed
an SDK tracer provider of its own before building it.

When spans are exported, a parent-based ratio sampler keeps ``JEEX_TRACING_SAMPLE_RATIO`` of
the traces that start here and follows the caller's decision for the traces that arrive with a
``traceparent``, so a sampled trace is never cut in the middle.
"""

import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

_EXPORT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
_configured: bool | None = None


def export_requested() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "otlp":
        return True
    return any(os.environ.get(name) for name in _EXPORT_VARIABLES)


def sampler(ratio: float) -> ParentBased:
    return ParentBased(root=TraceIdRatioBased(ratio))


def configure_tracing(sample_ratio: float) -> bool:
    """Install the OTLP exporter when ``OTEL_*`` asks for one, and instrument the clients when
    spans are recorded by anyone; once per process. Whether requests are traced."""
    global _configured  # noqa: PLW0603 - the global tracer provider can be set only once
    if _configured is not None:
        return _configured
    if export_requested() and not tracer_provider_installed():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider = TracerProvider(
            resource=Resource.create({"service.name": "jeex-idea"}),
            sampler=sampler(sample_ratio),
        )
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    _configured = tracer_provider_installed()
    if _configured:
        HTTPXClientInstrumentor().instrument()
        RedisInstrumentor().instrument()
        SQLAlchemyInstrumentor().instrument()
    return _configured


def tracer_provider_installed() -> bool:
    """Whether spans would be recorded: an SDK provider is the global one (the API's default
    provider only hands out no-op spans)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def instrument_app(app: FastAPI) -> None:
    # No span per ASGI send/receive: the request's span already times the response, and a span
    # for every body chunk cost about 15 % of the CPU of a plain request and of every SSE event.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="health/live,health/ready", exclude_spans=["send", "receive"]
    )
