"""A provider's refusal of a request: whether a 5xx is one, and its message made fit to show.

A request the provider cannot accept (a parameter it does not support, a value out of range)
fails the same way every time, so it is never retried and must say why: the status and the
provider's own message go into the log and into the error the user sees. Some servers (e.g.
llama.cpp's Python server) send such a refusal as a 500 whose body is a validation message;
that body, not the status, tells it from a crash.

The message is scrubbed first: anything shaped like a credential goes, long quotations (which
may be the prompt) are elided, and it is cut to :data:`MAX_MESSAGE_CHARS`.
"""

import re
from collections.abc import Iterator

from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError

MAX_MESSAGE_CHARS = 240
# A quotation longer than this may be the prompt or the output coming back; shorter ones are
# what the message is about ("Input should be 'text' or 'json_object'").
_MAX_QUOTE_CHARS = 40

# Phrases validation messages use: pydantic's (FastAPI-based servers), OpenAI's error types,
# and the usual wording of servers that refuse a parameter. Matched case-insensitively.
_VALIDATION_MARKERS = (
    "validation error",
    "validation_error",
    "invalid_request",
    "invalid request",
    "input should be",
    "field required",
    "extra inputs are not permitted",
    "unsupported parameter",
    "unsupported value",
    "is not supported",
    "invalid parameter",
    "invalid value",
    "unrecognized request argument",
)

# (pattern, replacement): what is shaped like a credential, keeping the name of what went.
_SECRETS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)\b(api[_-]?key|access[_-]?token|token|secret|password|authorization)"
            r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&]+"
        ),
        r"\1\2[redacted]",
    ),
    # Key-shaped words (sk-..., a long run of letters and digits): they hold a digit, which
    # keeps words such as extra_inputs_are_not_permitted.
    (re.compile(r"\b[A-Za-z]{2,8}[-_](?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,}"), "[redacted]"),
    (re.compile(r"(?=[A-Za-z0-9+/=_-]*\d)[A-Za-z0-9+/=_-]{32,}"), "[redacted]"),
    (re.compile(r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1[redacted]@"),
)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_SPACE = re.compile(r"\s+")


def is_validation_refusal(error: BaseException) -> bool:
    """A 5xx whose body says the request itself was invalid: sending it again cannot help."""
    if not isinstance(error, ModelHTTPError) or error.status_code < 500:
        return False
    kind = f"{error.provider_error_type or ''} {error.provider_error_code or ''}"
    text = f"{kind} {' '.join(_texts(error.body))}".casefold()
    return any(marker in text for marker in _VALIDATION_MARKERS)


def provider_message(error: ModelAPIError, *, secrets: tuple[str, ...] = ()) -> str | None:
    """The provider's explanation, scrubbed and bounded; None when it sent none."""
    found = " ".join(text for text in _texts(error.body) if text.strip())
    if not found:
        return None
    return scrub(found, secrets=secrets)


def scrub(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    text = _QUOTED.sub(_elide_long_quote, text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
    return text


def _elide_long_quote(match: re.Match[str]) -> str:
    quoted = match.group(1) if match.group(1) is not None else match.group(2)
    return match.group(0) if len(quoted) <= _MAX_QUOTE_CHARS else "'…'"


def _texts(body: object) -> Iterator[str]:
    """The human-readable parts of an error body: ``message``/``msg``/``detail`` strings in
    whatever nesting the server uses ({"error": {"message"}}, FastAPI's {"detail": [...]})."""
    if isinstance(body, str):
        yield body
    elif isinstance(body, dict):
        for key in ("message", "msg", "detail", "error"):
            if key in body:
                yield from _texts(body[key])
    elif isinstance(body, list):
        for item in body:
            yield from _texts(item)
