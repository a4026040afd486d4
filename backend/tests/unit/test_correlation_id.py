import re

import pytest

from app.core.middleware import correlation_id_from_headers

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_safe_client_id_is_kept() -> None:
    assert correlation_id_from_headers({b"x-correlation-id": b"req-42.a_b"}) == "req-42.a_b"


@pytest.mark.parametrize("unsafe", [b"<script>", b"a" * 129, b"with space", b"line\nbreak", b""])
def test_an_unsafe_client_id_is_replaced(unsafe: bytes) -> None:
    value = correlation_id_from_headers({b"x-correlation-id": unsafe})
    assert re.fullmatch(r"[0-9a-f]{32}", value)


def test_the_trace_id_of_traceparent_is_used() -> None:
    headers = {b"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01".encode()}
    assert correlation_id_from_headers(headers) == TRACE_ID


def test_an_all_zero_trace_id_is_invalid() -> None:
    headers = {b"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01".encode()}
    assert correlation_id_from_headers(headers) != "0" * 32


def test_a_new_id_each_time_without_headers() -> None:
    assert correlation_id_from_headers({}) != correlation_id_from_headers({})
