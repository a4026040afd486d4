"""A span per model call with GenAI attributes; prompts and outputs only when debugging."""

import json

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.testing import capture_logs

from app.llm.exceptions import LLMUnavailableError
from tests.integration.llm.conftest import GatewayFactory, make_call, unique_key
from tests.llm_double import directive
from tests.llm_double.script import DEFAULT_TEXT

SECRET_PROMPT = "confidential-idea-about-quantum-bakeries"


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _model_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith("chat ")]


def _everything_recorded(exporter: InMemorySpanExporter) -> str:
    recorded = []
    for span in exporter.get_finished_spans():
        recorded.append(json.dumps(dict(span.attributes or {}), default=str))
        recorded.extend(
            json.dumps(dict(event.attributes or {}), default=str) for event in span.events
        )
    return "\n".join(recorded)


async def test_each_model_call_has_a_span_with_genai_attributes_and_no_content(
    make_gateway: GatewayFactory, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    gateway = await make_gateway(tracer_provider=provider)
    prompt = f"{SECRET_PROMPT} {directive(key=unique_key('span'))}"

    with capture_logs() as logs:
        result = await gateway.generate(make_call(prompt), str)

    (span,) = _model_spans(exporter)
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.request.model"] == "scripted-model"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == attributes["gen_ai.provider.name"] == "openai-compatible"
    assert attributes["gen_ai.agent.name"] == "business_analyst"
    assert attributes["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert attributes["gen_ai.usage.output_tokens"] == result.usage.output_tokens
    recorded = _everything_recorded(exporter)
    assert SECRET_PROMPT not in recorded
    assert DEFAULT_TEXT not in recorded
    assert SECRET_PROMPT not in json.dumps(logs, default=str)
    (entry,) = [log for log in logs if log["event"] == "llm_call"]
    assert entry["input_tokens"] == result.usage.input_tokens


async def test_the_debug_setting_puts_prompts_and_outputs_into_spans(
    make_gateway: GatewayFactory, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    gateway = await make_gateway(tracer_provider=provider, llm_debug_content=True)

    await gateway.generate(make_call(f"{SECRET_PROMPT} {directive(key=unique_key('dbg'))}"), str)

    recorded = _everything_recorded(exporter)
    assert SECRET_PROMPT in recorded
    assert DEFAULT_TEXT in recorded


async def test_a_failing_call_records_its_error_on_the_span(
    make_gateway: GatewayFactory, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    gateway = await make_gateway(tracer_provider=provider, llm_max_attempts=1)

    with pytest.raises(LLMUnavailableError):
        await gateway.generate(make_call(f"Go {directive(key=unique_key('x'), fault='500')}"), str)

    (span,) = _model_spans(exporter)
    assert span.status.status_code.name == "ERROR"
