"""A model that answers every request with random content that is valid for what it asked.

``random_instance`` draws a value valid against a JSON Schema of the kind Pydantic and
pydantic-ai emit; ``RandomModel`` is a responder for ``ScriptedLLMServer(responder=...)`` that
answers structured requests with such values and text requests with random Markdown. Both are
deterministic for a given seed and call order, so a failure found with one seed replays.

Supported keywords: ``$ref``/``$defs``, ``allOf`` (merged), ``anyOf``/``oneOf`` (one branch at
random; ``oneOf`` branches are assumed disjoint, as Pydantic's tagged unions are), ``enum``,
``const``, ``type`` (also lists of types), ``properties``/``required``/``additionalProperties``/
``minProperties``/``maxProperties``, strings (``minLength``/``maxLength``/``format``/``pattern``),
numbers (``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``/``multipleOf``),
arrays (``items``/``prefixItems``/``minItems``/``maxItems``/``uniqueItems``) and ``default``.
A ``pattern`` is honoured by drawing from the regular expression itself (the constructs
Pydantic users write: classes, ranges, alternations, groups, repeats, anchors); look-arounds and
back-references are not supported and raise ``UnsupportedSchemaError``.
"""

import importlib
import json
import math
import random
import re
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.llm_double.script import (
    Reply,
    TextReply,
    message_text,
    requested_schema,
    structured_reply,
)

# The standard library's own regular-expression parser (untyped, hence Any).
sre_parse: Any = importlib.import_module("re._parser")

STRING_CAP = 2_000
"""Longest string drawn when the schema sets no ``maxLength`` (or a larger one)."""
ARRAY_CAP = 6
"""Most items drawn when the schema sets no ``maxItems`` (beyond ``minItems``)."""
MAX_DEPTH = 8
"""Below this depth optional parts are left out and arrays kept short, so recursion ends."""
_ATTEMPTS = 200
_SECTION_MARKER = re.compile(r"<!-- section:([a-z0-9_]+) -->")


class UnsupportedSchemaError(ValueError):
    """The schema uses something this generator cannot satisfy (or nothing can)."""


# --- text material -------------------------------------------------------------------------

_WORDS_EN = (
    "bakery",
    "night",
    "bread",
    "order",
    "courier",
    "payment",
    "market",
    "user",
    "journey",
    "risk",
    "budget",
    "team",
    "scale",
    "audience",
    "problem",
    "goal",
    "metric",
    "feature",
    "release",
    "backlog",
    "storage",
    "queue",
    "latency",
    "cache",
    "contract",
    "test",
    "launch",
    "pilot",
    "city",
    "partner",
    "subscription",
    "commission",
)
_WORDS_RU = (
    "пекарня",
    "ночь",
    "хлеб",
    "заказ",
    "курьер",
    "оплата",
    "рынок",
    "пользователь",
    "путь",
    "риск",
    "бюджет",
    "команда",
    "масштаб",
    "аудитория",
    "проблема",
    "цель",
    "метрика",
    "функция",
    "релиз",
    "очередь",
    "задержка",
    "договор",
    "запуск",
    "пилот",
    "город",
    "партнёр",
    "подписка",
    "комиссия",
    "ёлка",
    "щётка",
)
_QUOTES = (("«", "»"), ('"', '"'), ("'", "'"), ("„", "“"))
_SECTION_KEYS = (
    "summary",
    "problem",
    "audience",
    "market",
    "risks",
    "xyz",
    "goals_kpis",
    "coding_standards",
    "stack",
    "trade_offs",
    "tasks",
    "milestones",
)


def _words(rng: random.Random, count: int) -> str:
    pool = _WORDS_RU if rng.random() < 0.4 else _WORDS_EN
    return " ".join(rng.choice(pool) for _ in range(max(1, count)))


def _piece(rng: random.Random, keys: Sequence[str] = _SECTION_KEYS) -> str:
    """One fragment of varied text: prose, Markdown, a section marker, option-like text."""
    kind = rng.randrange(10)
    if kind == 0:
        return f"\n## {_words(rng, rng.randint(1, 4)).capitalize()}\n\n"
    if kind == 1:
        return "".join(f"\n- {_words(rng, rng.randint(2, 8))}" for _ in range(rng.randint(1, 4)))
    if kind == 2:
        return f"\n<!-- section:{rng.choice(keys)} -->\n"
    if kind == 3:
        return " " + ", ".join(
            f"{rng.randint(1, 5)}.{rng.choice('abcde')}" for _ in range(rng.randint(1, 3))
        )
    if kind == 4:
        return f" **{_words(rng, 2)}** `{rng.choice(_WORDS_EN)}_{rng.randint(0, 99)}`"
    if kind == 5:
        opening, closing = rng.choice(_QUOTES)
        return f" {opening}{_words(rng, 3)}{closing} —"
    if kind == 6:
        return "".join(f"\n- {_traced_item(rng)}" for _ in range(rng.randint(1, 4)))
    return " " + _words(rng, rng.randint(3, 20)).capitalize() + rng.choice(".!?;:")


def _traced_item(rng: random.Random) -> str:
    """A list entry written the way traceable items are, with ids and links that may or may
    not exist (the engine must keep its own ids whatever it is sent)."""

    def some_id() -> str:
        return f"{rng.choice('GRCDTMX')}-{rng.randint(0, 30)}"

    lead = rng.choice(["", f"**{some_id()}** ", f"[{some_id()}] ", f"{some_id()}: "])
    links = ", ".join(some_id() for _ in range(rng.randint(0, 3)))
    return f"{lead}{_words(rng, rng.randint(2, 8))}" + (f" → {links}" if links else "")


def varied_text(rng: random.Random, low: int, high: int) -> str:
    """Text of ``low``..``high`` characters (code points): short, medium or long at random."""
    high = max(low, high)
    mode = rng.random()
    if mode < 0.4:
        target = rng.randint(low, min(high, max(low, 40)))
    elif mode < 0.8:
        target = rng.randint(min(high, max(low, 40)), min(high, max(low, 300)))
    else:
        target = rng.randint(min(high, max(low, 300)), high)
    parts: list[str] = []
    size = 0
    while size < target:
        part = _piece(rng)
        parts.append(part)
        size += len(part)
    text = "".join(parts).strip() if target > 0 else ""
    text = text[:target]
    while len(text) < low:  # stripping can undershoot
        text += rng.choice(string.ascii_letters + "абвгдеёжз ")
    return text


def markdown_document(rng: random.Random, chars: int, keys: Sequence[str]) -> str:
    """Markdown of about ``chars`` characters: headings, paragraphs, lists, section markers."""
    parts: list[str] = []
    size = 0
    while size < chars:
        heading = f"## {_words(rng, rng.randint(1, 4)).capitalize()}\n\n"
        marker = f"<!-- section:{rng.choice(keys)} -->\n\n" if keys and rng.random() < 0.5 else ""
        body = (
            "".join(f"- {_traced_item(rng)}\n" for _ in range(rng.randint(2, 5)))
            if rng.random() < 0.4
            else _words(rng, rng.randint(15, 60)).capitalize() + ".\n"
        )
        part = f"{heading}{marker}{body}\n"
        parts.append(part)
        size += len(part)
    return "".join(parts)[: max(chars, 1)].rstrip() + "\n"


# --- instances ------------------------------------------------------------------------------


def random_instance(
    schema: Mapping[str, Any],
    rng: random.Random,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """A random value valid against ``schema``.

    Optional properties are included or left out at random; every ``enum`` value and every
    ``anyOf``/``oneOf`` branch can be drawn. ``overrides`` forces a property, by name, wherever
    it occurs in an object, whenever the forced value is valid for that property's schema.
    """
    return _Generator(dict(schema), rng, dict(overrides or {})).value(schema, 0)


@dataclass
class _Generator:
    root: dict[str, Any]
    rng: random.Random
    overrides: dict[str, Any]
    _validators: dict[str, Callable[[Any], bool]] = field(default_factory=dict)

    # --- dispatch ----------------------------------------------------------------------

    def value(self, schema: Mapping[str, Any] | bool, depth: int) -> Any:
        if schema is True:
            schema = {}
        if schema is False:
            raise UnsupportedSchemaError("no value satisfies the schema false")
        schema = self.resolved(schema)
        if (
            "default" in schema
            and self.rng.random() < 0.1
            and self.valid(schema["default"], schema)
        ):
            return json.loads(json.dumps(schema["default"]))
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        for union in ("anyOf", "oneOf"):
            if union in schema:
                return self.branch(schema, union, depth)
        kinds = schema.get("type")
        if isinstance(kinds, list):
            kind = self.rng.choice(kinds)
        elif isinstance(kinds, str):
            kind = kinds
        else:
            kind = self.implied_type(schema)
        return self.of_type(kind, schema, depth)

    def resolved(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """``schema`` with its ``$ref`` followed and its ``allOf`` merged into it."""
        current = dict(schema)
        for _ in range(64):
            if "$ref" in current:
                target = self.lookup(current.pop("$ref"))
                current = {**target, **current}
                continue
            if "allOf" in current:
                parts = [self.resolved(part) for part in current.pop("allOf")]
                for part in parts:
                    current = _merge(current, part)
                continue
            return current
        raise UnsupportedSchemaError("references nest too deep")

    def lookup(self, reference: str) -> dict[str, Any]:
        if not reference.startswith("#"):
            raise UnsupportedSchemaError(f"only local references are supported: {reference}")
        node: Any = self.root
        for part in reference.removeprefix("#").strip("/").split("/"):
            if not part:
                continue
            node = node[part.replace("~1", "/").replace("~0", "~")]
        if not isinstance(node, dict):
            raise UnsupportedSchemaError(f"{reference} is not a schema")
        return node

    def branch(self, schema: dict[str, Any], union: str, depth: int) -> Any:
        options = list(schema[union])
        rest = {key: value for key, value in schema.items() if key != union}
        if depth >= MAX_DEPTH:  # prefer a branch that ends the recursion
            ending = [option for option in options if self.resolved(option).get("type") == "null"]
            options = ending or options
        if self.overrides:  # a branch where an override is invalid would lose it
            fitting = [option for option in options if self.admits_overrides(option)]
            options = fitting or options
        option = self.rng.choice(options)
        return self.value(_merge(rest, self.resolved(option)) if rest else option, depth)

    def admits_overrides(self, schema: Mapping[str, Any]) -> bool:
        properties = self.resolved(schema).get("properties", {})
        return all(
            self.valid(value, properties[name])
            for name, value in self.overrides.items()
            if name in properties
        )

    @staticmethod
    def implied_type(schema: Mapping[str, Any]) -> str:
        if {"properties", "required", "additionalProperties"} & schema.keys():
            return "object"
        if {"items", "prefixItems", "minItems", "maxItems"} & schema.keys():
            return "array"
        if {"minLength", "maxLength", "pattern", "format"} & schema.keys():
            return "string"
        if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & schema.keys():
            return "number"
        return "any"

    def of_type(self, kind: str, schema: dict[str, Any], depth: int) -> Any:
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, depth)
        if kind == "string":
            return self.string(schema)
        if kind == "integer":
            return self.integer(schema)
        if kind == "number":
            return self.number(schema)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        if kind == "any":
            return self.of_type(
                self.rng.choice(["string", "integer", "number", "boolean", "null"]), {}, depth
            )
        raise UnsupportedSchemaError(f"unknown type {kind!r}")

    # --- validity (for overrides and defaults) -------------------------------------------

    def valid(self, value: Any, schema: Mapping[str, Any]) -> bool:
        key = json.dumps(schema, sort_keys=True, default=str)
        check = self._validators.get(key)
        if check is None:
            import jsonschema_rs

            document = {**schema, "$defs": self.root.get("$defs", {})}
            check = jsonschema_rs.Draft202012Validator(document).is_valid
            self._validators[key] = check
        return check(value)

    # --- objects -------------------------------------------------------------------------

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        result: dict[str, Any] = {}
        for name, subschema in properties.items():
            if name in self.overrides and self.valid(self.overrides[name], subschema):
                result[name] = json.loads(json.dumps(self.overrides[name]))
                continue
            include = name in required or (depth < MAX_DEPTH and self.rng.random() < 0.5)
            if include:
                result[name] = self.value(subschema, depth + 1)
        # A model's schema without the keyword allows extra keys, but no model writes them;
        # a free-form object (no properties) or an explicit schema for them gets some.
        extra = schema.get("additionalProperties", not properties)
        low = int(schema.get("minProperties", 0))
        high = int(schema.get("maxProperties", len(result) + 3))
        wanted = max(low, len(result))
        if extra is not False and depth < MAX_DEPTH and self.rng.random() < 0.3:
            wanted = max(wanted, self.rng.randint(len(result), max(len(result), high)))
        while len(result) < wanted:
            if extra is False:
                missing = [name for name in properties if name not in result]
                if not missing:
                    raise UnsupportedSchemaError("minProperties beyond the properties allowed")
                name = self.rng.choice(missing)
                result[name] = self.value(properties[name], depth + 1)
                continue
            name = f"{self.rng.choice(_WORDS_EN)}_{self.rng.randint(0, 9999)}"
            if name not in properties:
                result[name] = self.value({} if extra is True else extra, depth + 1)
        return result

    # --- arrays --------------------------------------------------------------------------

    def array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix: list[Any] = list(schema.get("prefixItems", []))
        items = schema.get("items", {} if not prefix else False)
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        if items is False:
            high = len(prefix) if high is None else min(int(high), len(prefix))
        cap = low if depth >= MAX_DEPTH else max(low, ARRAY_CAP)
        high = cap if high is None else min(int(high), max(low, cap))
        count = self.rng.randint(low, max(low, high))
        unique = bool(schema.get("uniqueItems"))
        result: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        while len(result) < count:
            index = len(result)
            item_schema = prefix[index] if index < len(prefix) else items
            item = self.value(item_schema, depth + 1)
            attempts += 1
            token = json.dumps(item, sort_keys=True)
            if unique and token in seen:
                if attempts > _ATTEMPTS:
                    if len(result) >= low:
                        break
                    raise UnsupportedSchemaError("not enough distinct items for minItems")
                continue
            seen.add(token)
            result.append(item)
        return result

    # --- scalars -------------------------------------------------------------------------

    def string(self, schema: dict[str, Any]) -> str:
        low = int(schema.get("minLength", 0))
        high = min(int(schema.get("maxLength", STRING_CAP)), max(low, STRING_CAP))
        if low > high:
            raise UnsupportedSchemaError(f"minLength {low} above maxLength {high}")
        pattern = schema.get("pattern")
        fmt = schema.get("format")
        for _ in range(_ATTEMPTS):
            if pattern is not None:
                text = _from_regex(pattern, self.rng)
            elif fmt is not None and fmt in _FORMATS:
                text = _FORMATS[fmt](self.rng)
            else:
                return varied_text(self.rng, low, high)
            if low <= len(text) <= high:
                return text
        raise UnsupportedSchemaError(f"no string of {low}..{high} characters for {schema}")

    def integer(self, schema: dict[str, Any]) -> int:
        low, high = _bounds(schema, integer=True)
        multiple = schema.get("multipleOf")
        if multiple is not None:
            step = int(multiple)
            first, last = -(-low // step), high // step
            if first > last:
                raise UnsupportedSchemaError(f"no multiple of {step} in {low}..{high}")
            return int(self.rng.randint(first, last) * step)
        if low > high:
            raise UnsupportedSchemaError(f"empty integer range {low}..{high}")
        if self.rng.random() < 0.2:  # the edges are where bugs live
            return int(self.rng.choice([low, high]))
        return self.rng.randint(int(low), int(high))

    def number(self, schema: dict[str, Any]) -> float | int:
        multiple = schema.get("multipleOf")
        if multiple is not None:
            low, high = _bounds(schema, integer=False)
            first, last = int(-(-low // multiple)), int(high // multiple)
            for _ in range(_ATTEMPTS):
                value: float = self.rng.randint(first, max(first, last)) * multiple
                if self.valid(value, schema):
                    return value
            raise UnsupportedSchemaError(f"no multiple of {multiple} found in range")
        low, high = _bounds(schema, integer=False)
        if low > high:
            raise UnsupportedSchemaError(f"empty number range {low}..{high}")
        for _ in range(_ATTEMPTS):
            drawn = self.rng.uniform(low, high) if self.rng.random() < 0.8 else round(low)
            if _within(drawn, schema):
                return drawn
        return float((low + high) / 2)


def _merge(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """Both schemas' constraints in one (as ``allOf`` needs them; enough for Pydantic's)."""
    merged = dict(left)
    for key, value in right.items():
        if key == "properties":
            merged["properties"] = {**merged.get("properties", {}), **value}
        elif key == "required":
            merged["required"] = sorted({*merged.get("required", []), *value})
        elif key in {"minimum", "minLength", "minItems", "exclusiveMinimum"} and key in merged:
            merged[key] = max(merged[key], value)
        elif key in {"maximum", "maxLength", "maxItems", "exclusiveMaximum"} and key in merged:
            merged[key] = min(merged[key], value)
        else:
            merged[key] = value
    return merged


_DEFAULT_SPAN = 1_000_000


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[Any, Any]:
    """The closed range a number must fall in (for integers: the integers in it)."""
    lows: list[Any] = []
    highs: list[Any] = []
    if "minimum" in schema:
        lows.append(math.ceil(schema["minimum"]) if integer else schema["minimum"])
    if "exclusiveMinimum" in schema:
        bound = schema["exclusiveMinimum"]
        lows.append(math.floor(bound) + 1 if integer else bound)
    if "maximum" in schema:
        highs.append(math.floor(schema["maximum"]) if integer else schema["maximum"])
    if "exclusiveMaximum" in schema:
        bound = schema["exclusiveMaximum"]
        highs.append(math.ceil(bound) - 1 if integer else bound)
    lowest = max(lows) if lows else None
    highest = min(highs) if highs else None
    if lowest is not None and highest is not None:
        return lowest, highest
    if highest is not None:
        return highest - _DEFAULT_SPAN, highest
    if lowest is not None:
        return lowest, lowest + _DEFAULT_SPAN
    return -100, 1_000


def _within(value: float, schema: Mapping[str, Any]) -> bool:
    return (
        ("minimum" not in schema or value >= schema["minimum"])
        and ("maximum" not in schema or value <= schema["maximum"])
        and ("exclusiveMinimum" not in schema or value > schema["exclusiveMinimum"])
        and ("exclusiveMaximum" not in schema or value < schema["exclusiveMaximum"])
    )


# --- formats and patterns -------------------------------------------------------------------


def _date_time(rng: random.Random) -> str:
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**9))
    return moment.isoformat().replace("+00:00", "Z")


def _date(rng: random.Random) -> str:
    return (date(2000, 1, 1) + timedelta(days=rng.randint(0, 20_000))).isoformat()


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date-time": _date_time,
    "date": _date,
    "time": lambda rng: f"{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:{rng.randint(0, 59):02}Z",
    "duration": lambda rng: f"P{rng.randint(0, 30)}DT{rng.randint(0, 23)}H",
    "email": lambda rng: f"{rng.choice(_WORDS_EN)}{rng.randint(0, 999)}@example.com",
    "uri": lambda rng: f"https://example.com/{rng.choice(_WORDS_EN)}/{rng.randint(0, 999)}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "ipv4": lambda rng: ".".join(str(rng.randint(0, 255)) for _ in range(4)),
    "ipv6": lambda rng: ":".join(f"{rng.getrandbits(16):x}" for _ in range(8)),
    "hostname": lambda rng: f"{rng.choice(_WORDS_EN)}.example.com",
}


def _from_regex(pattern: str, rng: random.Random) -> str:
    """A string ``re.search(pattern, ...)`` matches, drawn from the pattern's own syntax tree."""
    parsed = sre_parse.parse(pattern)
    for _ in range(_ATTEMPTS):
        text = _emit(parsed, rng)
        if re.search(pattern, text):
            return text
    raise UnsupportedSchemaError(f"could not draw a string for the pattern {pattern!r}")


_UNBOUNDED_REPEAT = 8
_CATEGORIES = {
    sre_parse.CATEGORY_DIGIT: string.digits,
    sre_parse.CATEGORY_NOT_DIGIT: string.ascii_letters + "_-",
    sre_parse.CATEGORY_SPACE: " ",
    sre_parse.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
    sre_parse.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_parse.CATEGORY_NOT_WORD: " -.,",
}
_PRINTABLE = string.ascii_letters + string.digits + " -_.,абвгд"


def _emit(parsed: Any, rng: random.Random) -> str:
    out: list[str] = []
    for op, argument in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(argument))
        elif name == "NOT_LITERAL":
            out.append(rng.choice([c for c in _PRINTABLE if ord(c) != argument]))
        elif name == "ANY":
            out.append(rng.choice(_PRINTABLE))
        elif name == "IN":
            out.append(_from_class(argument, rng))
        elif name == "BRANCH":
            out.append(_emit(rng.choice(argument[1]), rng))
        elif name == "SUBPATTERN":
            out.append(_emit(argument[-1], rng))
        elif name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, inner = argument
            top = low + _UNBOUNDED_REPEAT if high == sre_parse.MAXREPEAT else high
            out.extend(_emit(inner, rng) for _ in range(rng.randint(low, max(low, top))))
        elif name == "ATOMIC_GROUP":
            out.append(_emit(argument, rng))
        elif name == "AT":
            continue  # anchors: ^ $ \b \A \Z
        elif name == "CATEGORY":
            out.append(rng.choice(_CATEGORIES.get(argument, string.ascii_letters)))
        else:
            raise UnsupportedSchemaError(f"regular-expression construct {name} is not supported")
    return "".join(out)


def _from_class(items: Any, rng: random.Random) -> str:
    if items and str(items[0][0]) == "NEGATE":
        rest = items[1:]
        allowed = [c for c in _PRINTABLE if not _in_class(c, rest)]
        if not allowed:
            raise UnsupportedSchemaError("a negated character class excludes every candidate")
        return rng.choice(allowed)
    op, argument = rng.choice(items)
    name = str(op)
    if name == "LITERAL":
        return chr(argument)
    if name == "RANGE":
        return chr(rng.randint(argument[0], argument[1]))
    if name == "CATEGORY":
        return rng.choice(_CATEGORIES.get(argument, string.ascii_letters))
    raise UnsupportedSchemaError(f"character-class item {name} is not supported")


def _in_class(char: str, items: Any) -> bool:
    for op, argument in items:
        name = str(op)
        if name == "LITERAL" and ord(char) == argument:
            return True
        if name == "RANGE" and argument[0] <= ord(char) <= argument[1]:
            return True
        if name == "CATEGORY" and char in _CATEGORIES.get(argument, ""):
            return True
    return False


# --- the responder ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RandomCall:
    """What ``RandomModel`` answered to one request."""

    number: int  # 1-based, in the order the requests arrived
    title: str | None  # the output schema's title; None for text
    properties: frozenset[str]  # the output schema's top-level properties; empty for text
    streamed: bool
    value: Any  # the structured value, or the text


class RandomModel:
    """A responder for ``ScriptedLLMServer``: random but valid answers to every request.

    Structured requests (an output tool, a JSON-schema response format or a schema in the
    instructions) get ``random_instance`` of their schema; text requests get random Markdown of
    ``text_chars`` characters, with ``<!-- section:key -->`` markers for keys the prompt names,
    and now and then next to nothing (whitespace), as a real model sometimes answers.
    ``calls`` lists every answer in order.
    """

    def __init__(
        self,
        seed: int,
        overrides: Mapping[str, Any] | None = None,
        text_chars: tuple[int, int] = (20, 3000),
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.overrides = dict(overrides or {})
        self.text_chars = text_chars
        self.calls: list[RandomCall] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        schema = requested_schema(body)
        streamed = bool(body.get("stream"))
        number = len(self.calls) + 1
        if schema is None:
            text = self.text(_prompt_text(body))
            self.calls.append(RandomCall(number, None, frozenset(), streamed, text))
            return TextReply(text)
        value = random_instance(schema, self.rng, overrides=self.overrides)
        properties = frozenset(schema.get("properties", {}))
        self.calls.append(RandomCall(number, schema.get("title"), properties, streamed, value))
        return structured_reply(body, value)

    def text(self, prompt: str) -> str:
        if self.rng.random() < 0.05:
            return self.rng.choice(["", " ", "\n\n", " \n\t "])
        keys = list(dict.fromkeys(_SECTION_MARKER.findall(prompt)))
        low, high = self.text_chars
        text = markdown_document(self.rng, self.rng.randint(low, high), keys)
        if keys and self.rng.random() < 0.7:
            text = f"<!-- section:{self.rng.choice(keys)} -->\n\n{text}"
        return text


def _prompt_text(body: dict[str, Any]) -> str:
    return "\n".join(message_text(message) for message in body.get("messages", []))
