"""What the scripted server answers: read from each request, never from the order of requests.

A test puts a directive such as ``[[llm-double key=retry fault=429 times=1 retry_after=1]]`` in a
prompt. ``key`` groups requests so that ``times`` can say "the first N requests of this key fail,
the rest succeed"; everything else about the reply follows from what the request asks for: the
output tool offered, a JSON-schema response format, a schema in the instructions, or plain text.
"""

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEFAULT_TEXT = "The scripted model answers in a few short words."
_DIRECTIVE = re.compile(r"\[\[llm-double(?P<body>[^\]]*)\]\]")
_OUTPUT_TOOL_PREFIX = "final_result"


class Fault(StrEnum):
    NONE = "none"
    RATE_LIMITED = "429"
    SERVER_ERROR = "500"
    BAD_REQUEST = "400"
    HANG = "hang"
    STREAM_CUT = "stream-cut"
    STREAM_STALL = "stream-stall"  # sends ``chunks`` pieces, then nothing until the client goes
    INVALID_JSON_BODY = "invalid-json"
    OUTPUT_NOT_JSON = "output-not-json"
    SCHEMA_INVALID = "schema-invalid"


@dataclass(frozen=True, slots=True)
class Directive:
    key: str = "default"
    fault: Fault = Fault.NONE
    times: int | None = None  # None: every request of the key
    retry_after: str | None = None
    chunks: int = 2
    chunk_delay: float = 0.0
    delay: float = 0.0
    text: str = DEFAULT_TEXT
    message: str | None = None  # the error body's message of a 400 or 500
    usage: bool = True  # False: answers report no usage, as some servers' streams do

    def applies_to(self, request_number: int) -> bool:
        """Whether the fault hits the ``request_number``-th request (1-based) of this key."""
        if self.fault is Fault.NONE:
            return False
        return self.times is None or request_number <= self.times


def directive(
    *,
    key: str = "default",
    fault: str = "none",
    times: int | None = None,
    retry_after: int | None = None,
    chunks: int | None = None,
    chunk_delay: float | None = None,
    delay: float | None = None,
    text: str | None = None,
    message: str | None = None,
    usage: bool = True,
) -> str:
    """The directive text to embed in a prompt."""
    parts = [f"key={key}", f"fault={Fault(fault).value}"]
    if times is not None:
        parts.append(f"times={times}")
    if retry_after is not None:
        parts.append(f"retry_after={retry_after}")
    if chunks is not None:
        parts.append(f"chunks={chunks}")
    if chunk_delay is not None:
        parts.append(f"chunk_delay={chunk_delay}")
    if delay is not None:
        parts.append(f"delay={delay}")
    if text is not None:
        parts.append(shlex.join([f"text={text}"]))
    if message is not None:
        parts.append(shlex.join([f"message={message}"]))
    if not usage:
        parts.append("usage=omit")
    return f"[[llm-double {' '.join(parts)}]]"


def parse_directive(messages: list[dict[str, Any]]) -> Directive:
    """The first directive found in the messages, or the default one."""
    for message in messages:
        match = _DIRECTIVE.search(message_text(message))
        if match is not None:
            return _directive_from_pairs(shlex.split(match.group("body")))
    return Directive()


def _directive_from_pairs(pairs: list[str]) -> Directive:
    values = dict(pair.split("=", 1) for pair in pairs)
    return Directive(
        key=values.get("key", "default"),
        fault=Fault(values.get("fault", "none")),
        times=int(values["times"]) if "times" in values else None,
        retry_after=values.get("retry_after"),
        chunks=int(values.get("chunks", "2")),
        chunk_delay=float(values.get("chunk_delay", "0")),
        delay=float(values.get("delay", "0")),
        text=values.get("text", DEFAULT_TEXT),
        message=values.get("message"),
        usage=values.get("usage") != "omit",
    )


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: one token per word, at least one."""
    return max(1, len(text.split()))


def prompt_tokens(body: dict[str, Any]) -> int:
    return count_tokens(" ".join(message_text(message) for message in body.get("messages", [])))


# --- what the request asks for ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolReply:
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class TextReply:
    content: str


Reply = ToolReply | TextReply
Responder = Callable[[dict[str, Any]], Reply | None]
"""Chooses a reply from a request's content (see ScriptedLLMServer's ``responder``)."""


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema of the structured output the request asks for, however it asks."""
    tool = _output_tool(body)
    if tool is not None:
        parameters: dict[str, Any] = tool.get("parameters", {})
        return parameters
    return _response_format_schema(body) or _prompted_schema(body)


def structured_reply(body: dict[str, Any], value: dict[str, Any]) -> Reply:
    """``value`` as the structured output, in the form the request asked for it."""
    tool = _output_tool(body)
    if tool is not None:
        return ToolReply(tool["name"], json.dumps(value, ensure_ascii=False))
    return TextReply(json.dumps(value, ensure_ascii=False))


def build_reply(body: dict[str, Any], script: Directive, *, faulty: bool) -> Reply:
    """The reply a well-behaved (or, when ``faulty``, a misbehaving) model would give."""
    tool = _output_tool(body)
    if tool is not None:
        return ToolReply(tool["name"], _structured(tool.get("parameters", {}), script, faulty))
    schema = _response_format_schema(body) or _prompted_schema(body)
    if schema is not None:
        return TextReply(_structured(schema, script, faulty))
    return TextReply(script.text)


def _structured(schema: dict[str, Any], script: Directive, faulty: bool) -> str:
    if faulty and script.fault is Fault.OUTPUT_NOT_JSON:
        return '{"unterminated": '
    if faulty and script.fault is Fault.SCHEMA_INVALID:
        return json.dumps(violating_instance(schema))
    return json.dumps(sample_instance(schema, schema))


def _output_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [tool["function"] for tool in body.get("tools", []) if tool.get("type") == "function"]
    if not tools:
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and "function" in choice:
        wanted = choice["function"].get("name")
        chosen: dict[str, Any] = next((tool for tool in tools if tool["name"] == wanted), tools[0])
        return chosen
    outputs = [tool for tool in tools if str(tool["name"]).startswith(_OUTPUT_TOOL_PREFIX)]
    first: dict[str, Any] = outputs[0] if outputs else tools[0]
    return first


def _response_format_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format") or {}
    if response_format.get("type") != "json_schema":
        return None
    schema: dict[str, Any] = response_format["json_schema"]["schema"]
    return schema


def _prompted_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """A JSON schema written into the system prompt, as prompted-output modes do."""
    decoder = json.JSONDecoder()
    for message in body.get("messages", []):
        if message.get("role") not in {"system", "developer"}:
            continue
        text = message_text(message)
        for start in (index for index, char in enumerate(text) if char == "{"):
            try:
                candidate, _ = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                continue
            if isinstance(candidate, dict) and ("properties" in candidate or "type" in candidate):
                return candidate
    return None


# --- instances from a JSON schema -----------------------------------------------------------


def sample_instance(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """A small value that satisfies ``schema`` (the subset of JSON Schema Pydantic emits)."""
    if "$ref" in schema:
        return sample_instance(_resolve(schema["$ref"], root), root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [option for option in schema[combinator] if option.get("type") != "null"]
            return sample_instance(options[0], root)
    kind = schema.get("type", "object")
    if kind == "object":
        properties: dict[str, Any] = schema.get("properties", {})
        return {name: sample_instance(value, root) for name, value in properties.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [sample_instance(schema.get("items", {}), root) for _ in range(count)]
    if kind == "string":
        return "sample".ljust(int(schema.get("minLength", 0)), "x")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    return None


def violating_instance(schema: dict[str, Any]) -> dict[str, Any]:
    """An object whose required fields all hold a nested list: invalid for any scalar field."""
    required = schema.get("required") or list(schema.get("properties", {}))
    return {name: [[]] for name in required} or {"unexpected": [[]]}


def _resolve(reference: str, root: dict[str, Any]) -> dict[str, Any]:
    node: Any = root
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    resolved: dict[str, Any] = node
    return resolved
