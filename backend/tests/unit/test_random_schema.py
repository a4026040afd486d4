"""The random model: every value it draws is valid for the schema it was asked for, it reaches
every enum value and every union branch, it replays by seed, and overrides take effect."""

import json
import random
from collections import defaultdict
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

import jsonschema_rs
import pytest
from pydantic import BaseModel, Field, create_model
from pydantic_ai import Agent, NativeOutput, PromptedOutput, ToolOutput
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.llm_double import RandomModel, ScriptedLLMServer, random_instance

INSTANCES = 500


class Status(StrEnum):
    DRAFT = "draft"
    REVIEW = "review"
    DONE = "done"


class Address(BaseModel):
    city: str = Field(min_length=2, max_length=40)
    postcode: str = Field(pattern=r"^[0-9]{5}(-[A-Z]{2})?$")
    floor: int | None = Field(default=None, ge=-2, le=120)


class Person(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    nickname: str | None = None
    status: Status
    role: Literal["owner", "editor", "viewer"] = "viewer"
    age: int = Field(ge=0, lt=150)
    score: float = Field(gt=0, le=1)
    addresses: list[Address] = Field(min_length=1, max_length=3)
    tags: set[str] = Field(default_factory=set, max_length=4)
    ratings: dict[str, int] = Field(default_factory=dict)
    joined: datetime | None = None
    external_id: UUID | None = None
    pair: tuple[int, str] | None = None


class Option(BaseModel):
    letter: Literal["a", "b", "c", "d", "e"]
    text: str = Field(min_length=1, max_length=500)


class Question(BaseModel):
    text: str = Field(min_length=1, max_length=1000)
    options: list[Option] = Field(min_length=2, max_length=5)
    recommended: Literal["a", "b", "c", "d", "e"] | None = None


class Questions(BaseModel):
    questions: list[Question] = Field(min_length=1, max_length=5)


class Edit(BaseModel):
    op: Literal["replace", "insert", "remove"]
    section: str
    content: str | None


class Integration(BaseModel):
    edits: list[Edit] = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=500)
    stage_covered: bool


# Built the way a stage's floor decision is: a Literal of the stage's experts' names.
_EXPERTS: Any = Literal[("business_analyst", "venture_expert", "triz_expert")]
_ACTIONS: Any = Literal[("give_floor", "stage_covered")]
FloorDecision = create_model(
    "FloorDecision",
    action=(_ACTIONS, ...),
    reason=(str, Field(min_length=1, max_length=500)),
    agent=(_EXPERTS | None, None),
)


class Satisfied(BaseModel):
    kind: Literal["satisfied"]


class Answers(BaseModel):
    kind: Literal["answers"]
    text: str = Field(min_length=1)


class AddressExpert(BaseModel):
    kind: Literal["address_expert"]
    expert: str


class Intent(BaseModel):
    intent: Annotated[Satisfied | Answers | AddressExpert, Field(discriminator="kind")]
    reply: str | None = None


class Tree(BaseModel):
    label: str = Field(max_length=20)
    shape: Literal["leaf", "node"] | None = None
    children: list["Tree"] = Field(default_factory=list, max_length=3)


MODELS: list[type[BaseModel]] = [Person, Questions, Integration, FloorDecision, Intent, Tree]


def instances(model: type[BaseModel], seed: int = 7) -> tuple[dict[str, Any], list[Any]]:
    schema = model.model_json_schema()
    rng = random.Random(seed)
    return schema, [random_instance(schema, rng) for _ in range(INSTANCES)]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_instance_is_valid_for_the_schema_and_the_model(model: type[BaseModel]) -> None:
    schema, drawn = instances(model)
    validator = jsonschema_rs.Draft202012Validator(schema)

    for instance in drawn:
        assert validator.is_valid(instance), (instance, list(validator.iter_errors(instance)))
        model.model_validate(instance)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_enum_value_and_every_union_branch_is_drawn(model: type[BaseModel]) -> None:
    schema, drawn = instances(model)
    expected = _choice_sites(schema, schema, "$", frozenset())
    seen: defaultdict[str, set[str]] = defaultdict(set)
    for instance in drawn:
        _record_choices(schema, schema, instance, "$", seen)

    assert expected, "every model here has an enum or a union"
    for site, choices in expected.items():
        assert seen[site] == choices, site


def test_strings_are_varied() -> None:
    schema = {"type": "string"}
    rng = random.Random(3)
    drawn = [random_instance(schema, rng) for _ in range(INSTANCES)]

    assert min(map(len, drawn)) <= 40
    assert max(map(len, drawn)) >= 1500
    assert any(any("а" <= char <= "я" for char in text) for text in drawn)
    assert any("<!-- section:" in text for text in drawn)
    assert any("\n## " in text or "\n- " in text for text in drawn)
    assert any(
        any(f"{n}.{letter}" in text for n in "12345" for letter in "abcde") for text in drawn
    )


def test_the_same_seed_draws_the_same_values_and_another_seed_others() -> None:
    assert instances(Person, seed=11)[1] == instances(Person, seed=11)[1]
    assert instances(Person, seed=11)[1] != instances(Person, seed=12)[1]


def test_overrides_force_a_property_wherever_it_occurs() -> None:
    rng = random.Random(5)
    schema = Integration.model_json_schema()
    forced = [
        random_instance(schema, rng, overrides={"stage_covered": True, "op": "remove"})
        for _ in range(100)
    ]

    assert all(item["stage_covered"] is True for item in forced)
    assert all(edit["op"] == "remove" for item in forced for edit in item["edits"])


def test_an_override_that_is_invalid_at_a_property_is_not_forced_there() -> None:
    rng = random.Random(5)
    schema = Intent.model_json_schema()
    drawn = [random_instance(schema, rng, overrides={"kind": "satisfied"}) for _ in range(100)]
    invalid = [random_instance(schema, rng, overrides={"kind": "bogus"}) for _ in range(100)]

    assert {item["intent"]["kind"] for item in drawn} == {"satisfied"}
    assert {item["intent"]["kind"] for item in invalid} == {
        "satisfied",
        "answers",
        "address_expert",
    }


def test_keywords_pydantic_rarely_emits_are_honoured() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": ["integer", "null"], "multipleOf": 5, "minimum": 1, "maximum": 99},
            "x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "c": {"const": 42},
            "unique": {"type": "array", "items": {"enum": [1, 2, 3]}, "uniqueItems": True},
            "one": {"oneOf": [{"type": "string", "format": "email"}, {"type": "boolean"}]},
            "merged": {"allOf": [{"type": "string", "minLength": 3}, {"maxLength": 5}]},
            "d": {"type": "string", "format": "date", "default": "2024-01-01"},
        },
        "required": ["n", "x", "c", "unique", "one", "merged", "d"],
        "additionalProperties": False,
    }
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    rng = random.Random(9)

    for _ in range(INSTANCES):
        instance = random_instance(schema, rng)
        assert validator.is_valid(instance), instance


# --- the responder behind the real pydantic-ai requests ------------------------------------


@pytest.mark.parametrize("mode", [ToolOutput, NativeOutput, PromptedOutput])
async def test_the_random_model_answers_every_pydantic_ai_output_mode(mode: Any) -> None:
    model = RandomModel(seed=21)
    async with ScriptedLLMServer(responder=model) as server:
        agent = _agent(server)
        for output in (Questions, Integration, FloorDecision, Intent):
            result = await agent.run("Ask the user.", output_type=mode(output))
            assert isinstance(result.output, output)
            assert result.usage.requests == 1  # valid at the first try: no retry

    assert [call.properties for call in model.calls] == [
        frozenset(output.model_fields) for output in (Questions, Integration, FloorDecision, Intent)
    ]
    assert [call.value for call in model.calls][1]["edits"]


async def test_the_random_model_streams_markdown_with_the_prompts_section_markers() -> None:
    model = RandomModel(seed=4, text_chars=(200, 400))
    prompt = "Write <!-- section:market --> and <!-- section:risks -->."
    async with ScriptedLLMServer(responder=model) as server:
        agent = _agent(server)
        texts = []
        for _ in range(20):
            async with agent.run_stream(prompt) as stream:
                texts.append(await stream.get_output())

    # A blank answer (which the model gives now and then) makes pydantic-ai ask again.
    assert all(call.title is None and call.streamed for call in model.calls)
    assert [call.value for call in model.calls if call.value.strip()] == texts
    assert {key for text in texts for key in ("market", "risks") if f"section:{key}" in text} == {
        "market",
        "risks",
    }
    assert "<!-- section:xyz" not in "".join(texts)


def test_the_random_model_replays_by_seed() -> None:
    body = {"messages": [{"role": "user", "content": "Hello"}], "stream": True}
    tool = {
        "type": "function",
        "function": {"name": "final_result", "parameters": Questions.model_json_schema()},
    }
    first, second = RandomModel(seed=8), RandomModel(seed=8)
    for model in (first, second):
        model(body)
        model({**body, "tools": [tool]})

    assert first.calls == second.calls
    assert first.calls[1].properties == {"questions"}


def _agent(server: ScriptedLLMServer) -> Agent[None, str]:
    provider = OpenAIProvider(base_url=server.base_url, api_key="test")
    return Agent(OpenAIChatModel("scripted-model", provider=provider))


# --- which choices a schema offers, and which a set of instances made -----------------------


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = {**root["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _choice_sites(
    schema: dict[str, Any], root: dict[str, Any], path: str, visiting: frozenset[str]
) -> dict[str, set[str]]:
    """Every enum and union in the schema, by path, with the choices it offers (recursive
    references are followed once)."""
    if "$ref" in schema:
        if schema["$ref"] in visiting:
            return {}
        visiting |= {schema["$ref"]}
    schema = _resolve(schema, root)
    sites: dict[str, set[str]] = {}
    if "enum" in schema:
        sites[path] = {json.dumps(value) for value in schema["enum"]}
    for union in ("anyOf", "oneOf"):
        for index, branch in enumerate(schema.get(union, [])):
            sites.setdefault(f"{path}|{union}", set()).add(str(index))
            sites |= _choice_sites(branch, root, f"{path}|{index}", visiting)
    for name, subschema in schema.get("properties", {}).items():
        sites |= _choice_sites(subschema, root, f"{path}.{name}", visiting)
    if isinstance(schema.get("items"), dict):
        sites |= _choice_sites(schema["items"], root, f"{path}[]", visiting)
    return sites


def _record_choices(
    schema: dict[str, Any], root: dict[str, Any], value: Any, path: str, seen: dict[str, set[str]]
) -> None:
    schema = _resolve(schema, root)
    if "enum" in schema:
        seen[path].add(json.dumps(value))
    for union in ("anyOf", "oneOf"):
        for index, branch in enumerate(schema.get(union, [])):
            if jsonschema_rs.Draft202012Validator(
                {**branch, "$defs": root.get("$defs", {})}
            ).is_valid(value):
                seen[f"{path}|{union}"].add(str(index))
                _record_choices(branch, root, value, f"{path}|{index}", seen)
                break
    if isinstance(value, dict):
        for name, subschema in schema.get("properties", {}).items():
            if name in value:
                _record_choices(subschema, root, value[name], f"{path}.{name}", seen)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _record_choices(schema["items"], root, item, f"{path}[]", seen)
