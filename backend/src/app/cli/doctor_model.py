"""The doctor's check of the model: reachable, offering the configured name, and able to give
a structured answer in the configured output mode."""

import asyncio
import difflib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from app.cli.doctor_report import Row, Status, failed, ok
from app.core.config import LLMOutputMode, LLMSettings, Settings
from app.core.infrastructure import redact_url
from app.llm import probe as llm_probe

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from app.llm.constants import AgentName
    from app.llm.routing import ModelRoute, ModelRoutes
    from app.llm.service import LLMGateway

# Heavy clients (pydantic-ai, Qdrant, PyTorch) are imported inside the checks that use them, as
# in commands.py: `jeex-idea --help` stays quick.


class DoctorReply(BaseModel):
    """The structured output of the doctor's test call: one field the model must fill."""

    status: Literal["ready"] = Field(description='Always the word "ready".')


_TEST_INSTRUCTIONS = (
    "You are being checked by an operator's diagnostic tool. Answer only in the requested "
    "structured form."
)
_TEST_PROMPT = 'Reply with the field status set to the word "ready".'


async def model_rows(settings: Settings, redis_url: str | None, no_redis: str) -> list[Row]:
    llm = settings.llm
    if not llm_probe.is_configured(llm):
        return [
            Row(
                "model",
                Status.NOT_CONFIGURED,
                f"{llm.provider.value}: JEEX_LLM_MODEL is not set; agents will not answer",
            )
        ]
    deadline = llm.connect_timeout_seconds
    reached = await llm_probe.probe(llm, deadline)
    if reached.error is not None:
        return [
            failed(
                "model",
                f"{_model_where(llm, _configured_names(llm))}: {reached.error}",
                _unreachable_fix(llm, reached.error),
            )
        ]
    offered = await llm_probe.available_models(llm, deadline)
    from app.llm.routing import resolve_routes

    routes = resolve_routes(llm)
    checks = _routes_to_check(routes)
    if redis_url is None:
        return [
            _model_row(llm, route, label, offered, None, no_redis) for route, label, _ in checks
        ]
    return await _called_model_rows(settings, redis_url, routes, checks, offered)


async def _called_model_rows(
    settings: Settings,
    redis_url: str,
    routes: "ModelRoutes",
    checks: "list[tuple[ModelRoute, str, AgentName]]",
    offered: list[str] | None,
) -> list[Row]:
    from app.core.redis import create_redis
    from app.llm.service import LLMGateway

    redis = create_redis(settings, redis_url)
    gateway = LLMGateway(settings.llm, redis, routes=routes)
    try:
        rows = []
        for route, label, agent in checks:
            outcome = await _test_call(settings.llm, gateway, redis, agent)
            rows.append(_model_row(settings.llm, route, label, offered, outcome, ""))
        return rows
    finally:
        await gateway.aclose()
        await redis.aclose()


def _routes_to_check(routes: "ModelRoutes") -> "list[tuple[ModelRoute, str, AgentName]]":
    """Each distinct model once: its row's label and an agent that uses it (the PM first)."""
    from app.llm.constants import AgentName

    users: dict[ModelRoute, list[AgentName]] = {}
    for agent in AgentName:
        users.setdefault(routes.for_agent(agent), []).append(agent)
    checks = []
    for route, agents in users.items():
        label = "model" if route == routes.default else f"model ({', '.join(agents)})"
        checks.append((route, label, agents[0]))
    return checks


@dataclass(frozen=True, slots=True)
class _CallOutcome:
    seconds: float
    error: Exception | None = None


async def _test_call(
    llm: LLMSettings, gateway: "LLMGateway", redis: "Redis", agent: "AgentName"
) -> _CallOutcome:
    """One small structured call, as ``agent``, for a project and a user that do not exist;
    their budget and concurrency keys are deleted afterwards, so no budget ever counts it."""
    from uuid import uuid4

    from app.core.config import LLMCallKind
    from app.llm.exceptions import LLMError
    from app.llm.limits import budget_key, inflight_key, user_budget_key
    from app.llm.schemas import LLMCall

    call = LLMCall(
        agent=agent,
        kind=LLMCallKind.INTENT,
        project_id=uuid4(),
        user_id=uuid4(),
        instructions=_TEST_INSTRUCTIONS,
        prompt=_TEST_PROMPT,
    )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(llm.connect_timeout_seconds + llm.read_timeout_seconds):
            await gateway.generate(call, DoctorReply)
    except (LLMError, TimeoutError) as error:
        return _CallOutcome(time.perf_counter() - started, error)
    finally:
        keys = (
            budget_key(call.project_id),
            user_budget_key(call.user_id),
            inflight_key(call.user_id),
        )
        await redis.delete(*keys)
    return _CallOutcome(time.perf_counter() - started)


def _configured_names(llm: LLMSettings) -> str:
    return ", ".join(sorted({name for name in (llm.model, *llm.agent_models.values()) if name}))


def _model_where(llm: LLMSettings, model: str) -> str:
    where = redact_url(llm.base_url) if llm.base_url is not None else "the provider's own API"
    return f"{llm.provider.value} {model} at {where}"


def _model_row(
    llm: LLMSettings,
    route: "ModelRoute",
    label: str,
    offered: list[str] | None,
    outcome: _CallOutcome | None,
    skipped_because: str,
) -> Row:
    name = route.model_name
    where = f"{_model_where(llm, name)}, {llm.output_mode.value} output"
    listed = offered is None or name in offered
    variable = "JEEX_LLM_MODEL" if label == "model" else "JEEX_LLM_AGENT_MODELS"
    not_offered = (
        f"{variable} names {name!r}, which the provider does not offer; it offers "
        f"{_some_names(name, offered or [])}"
    )
    if outcome is None:
        if not listed:
            return failed(label, f"{where}: not in the provider's model list", not_offered)
        # Reachable and listed, but not tried: neither ok nor failed.
        return Row(
            label, Status.SKIPPED, f"{where}: reachable; test call skipped: {skipped_because}"
        )
    if outcome.error is None:
        unlisted = "" if listed else " (although the provider does not list it)"
        return ok(
            label, f"{where}: structured test call answered in {outcome.seconds:.1f}s{unlisted}"
        )
    detail = f"{where}: {_call_failure(outcome.error)}"
    return failed(label, detail, not_offered if not listed else _call_fix(llm, outcome.error))


def _some_names(name: str, offered: list[str], count: int = 5) -> str:
    if not offered:
        return "no model at all"
    close = difflib.get_close_matches(name, offered, n=count, cutoff=0.3)
    chosen = close + [other for other in offered if other not in close][: count - len(close)]
    more = f" and {len(offered) - len(chosen)} more" if len(offered) > len(chosen) else ""
    return ", ".join(chosen) + more


def _call_failure(error: Exception) -> str:
    from app.llm.exceptions import LLMError

    if isinstance(error, LLMError):
        return f"the structured test call failed ({error.code}): {error.message}"
    return "the structured test call got no answer in time"


def _call_fix(llm: LLMSettings, error: Exception) -> str:
    from app.llm.exceptions import (
        LLMInvalidOutputError,
        LLMRequestRejectedError,
        LLMTimeoutError,
    )

    mode = llm.output_mode
    others = " or ".join(
        f"JEEX_LLM_OUTPUT_MODE={other.value}" for other in LLMOutputMode if other is not mode
    )
    if isinstance(error, LLMInvalidOutputError):
        return (
            f"the model did not produce the structured output in {mode.value} mode, even after "
            f"{_retries(llm.output_retries)}: try {others}, or a more capable model"
        )
    if isinstance(error, LLMRequestRejectedError):
        return (
            "check JEEX_LLM_MODEL and JEEX_LLM_API_KEY; a server without tool calls or JSON "
            f"schemas needs another JEEX_LLM_OUTPUT_MODE ({others})"
        )
    if isinstance(error, LLMTimeoutError | TimeoutError):
        return (
            "the model took longer than JEEX_LLM_READ_TIMEOUT_SECONDS "
            f"({llm.read_timeout_seconds:g}s): a slow local model needs a larger value"
        )
    return (
        "the provider is unavailable or limiting us: try again later, and check JEEX_LLM_BASE_URL"
    )


def _retries(count: int) -> str:
    return f"{count} {'retry' if count == 1 else 'retries'}"


def _unreachable_fix(llm: LLMSettings, error: str) -> str:
    if "API key" in error:
        return "check JEEX_LLM_API_KEY: the provider refused it"
    if llm.base_url is None:
        return (
            "check this machine's connection to the provider, or set JEEX_LLM_BASE_URL to the "
            "server to use"
        )
    if "HTTP 404" in error:
        return (
            "JEEX_LLM_BASE_URL answers but lists no models there: it usually ends in /v1 (e.g. "
            "http://localhost:11434/v1)"
        )
    return "check JEEX_LLM_BASE_URL: is the model server running and reachable from here?"
