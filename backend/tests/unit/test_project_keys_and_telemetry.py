from uuid import UUID

import pytest

from app.core.redis import project_key
from app.core.telemetry import export_requested

PROJECT = UUID("01937a54-0000-7000-8000-000000000001")


def test_project_keys_are_prefixed_with_the_project() -> None:
    assert project_key(PROJECT, "events") == f"proj:{PROJECT}:events"
    assert project_key(PROJECT, "cache", "doc") == f"proj:{PROJECT}:cache:doc"


def test_a_project_key_needs_a_name() -> None:
    with pytest.raises(ValueError, match="at least one part"):
        project_key(PROJECT)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_traces_are_exported_only_when_otel_variables_ask(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: bool
) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert export_requested() is expected
