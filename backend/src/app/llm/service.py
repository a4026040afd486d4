"""The gateway agents call: typed outputs or streamed text, with limits, retries and a usage record.

A call goes: resolve the agent's model (or fail with ``llm_not_configured``) → refuse at once if
that model's circuit is open → take a concurrency slot and a budget reservation in Redis (or
fail before anything is sent) → run pydantic-ai with the resilient model, its output bounded by
the call kind's ``max_tokens`` → settle the budget to the tokens really used, whatever the
outcome: failed, repeated and streamed requests included, estimated where the provider did not
report them (see :mod:`app.llm.accounting`). A failed call's usage travels on its error.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2
import structlog
from opentelemetry.trace import TracerProvider
from pydantic_ai import Agent, NativeOutput, PromptedOutput, ToolOutput
from pydantic_ai.capabilities import Instrumentation
from pydantic_ai.exceptions import AgentRunError
from pydantic_ai.models import Model
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.output import OutputSpec
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RunUsage, UsageLimits
from redis.asyncio import Redis

from app.core.config import LLMOutputMode, LLMSettings
from app.llm.accounting import CallStats
from app.llm.breaker import CircuitBreaker
from app.llm.constants import AgentName
from app.llm.errors import translate
from app.llm.exceptions import LLMError, LLMRequestRejectedError
from app.llm.limits import CallLimits, LimitPolicy
from app.llm.providers import build_model, build_provider, create_http_client
from app.llm.resilience import ResilientModel, RetryPolicy
from app.llm.routing import ModelRoute, ModelRoutes, resolve_routes
from app.llm.schemas import (
    DeltaCallback,
    LLMCall,
    LLMResult,
    LLMUsage,
    OutputT,
    PartialCallback,
)

logger = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Run:
    """The bookkeeping of one call while it runs."""

    call: LLMCall
    route: ModelRoute
    model: ResilientModel
    stats: CallStats
    usage: RunUsage = field(default_factory=RunUsage)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.perf_counter)
    streamed: bool = False
    stream_started: bool = False
    error: LLMError | None = None

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens + self.stats.estimated_input_tokens

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens + self.stats.estimated_output_tokens

    @property
    def total_tokens(self) -> int:
        """What the budgets are charged: reported tokens and estimates alike."""
        return self.input_tokens + self.output_tokens


class LLMGateway:
    def __init__(
        self,
        settings: LLMSettings,
        redis: "Redis",
        *,
        routes: ModelRoutes,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._settings = settings
        self._routes = routes
        self._policy = RetryPolicy.from_settings(settings)
        self._limits = CallLimits(redis, LimitPolicy.from_settings(settings))
        # Prompts and outputs enter spans only when the debug setting asks for them.
        self._instrumentation = InstrumentationSettings(
            tracer_provider=tracer_provider,
            include_content=settings.debug_content,
            include_binary_content=settings.debug_content,
            include_model_request_parameters=settings.debug_content,
        )
        self._http_client: httpx2.AsyncClient | None = None
        self._models: dict[ModelRoute, Model] = {}
        self._breakers: dict[ModelRoute, CircuitBreaker] = {}
        self._agents: dict[AgentName, Agent[None, str]] = {}
        if self._routes.configured:
            self._connect()

    @classmethod
    def from_settings(
        cls, settings: LLMSettings, redis: "Redis", *, tracer_provider: TracerProvider | None = None
    ) -> "LLMGateway":
        """The gateway of the settings; ``tracer_provider`` defaults to the global one."""
        return cls(
            settings, redis, routes=resolve_routes(settings), tracer_provider=tracer_provider
        )

    def _connect(self) -> None:
        self._http_client = create_http_client(self._settings)
        provider = build_provider(self._settings, self._http_client)
        for route in self._routes.all():
            self._models[route] = build_model(route, provider)
            self._breakers[route] = CircuitBreaker(
                route,
                failure_threshold=self._settings.breaker_failure_threshold,
                reset_seconds=self._settings.breaker_reset_seconds,
            )

    @property
    def configured(self) -> bool:
        return self._routes.configured

    @property
    def limits(self) -> CallLimits:
        return self._limits

    def breaker(self, agent: AgentName) -> CircuitBreaker:
        return self._breakers[self._routes.for_agent(agent)]

    async def aclose(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose()

    # --- calls --------------------------------------------------------------------------

    async def generate(self, call: LLMCall, output_type: type[OutputT]) -> LLMResult[OutputT]:
        """One answer of ``output_type``, validated; invalid answers go back with the errors."""
        async with self._running(call) as run:
            result = await self._agent(call.agent).run(
                call.prompt,
                output_type=self._output_spec(output_type),
                **self._run_options(run),
            )
            output: OutputT = result.output
        return LLMResult(output=output, usage=self._usage_record(run))

    async def stream_text(self, call: LLMCall, on_delta: DeltaCallback) -> LLMResult[str]:
        """Free text, handed to ``on_delta`` piece by piece as the model writes it."""
        async with self._running(call) as run:
            run.streamed = True
            agent = self._agent(call.agent)
            async with agent.run_stream(call.prompt, **self._run_options(run)) as stream:
                async for delta in stream.stream_text(delta=True, debounce_by=None):
                    run.stream_started = True
                    await on_delta(delta)
                output = await stream.get_output()
        return LLMResult(output=output, usage=self._usage_record(run))

    async def stream_output(
        self,
        call: LLMCall,
        output_type: type[OutputT],
        on_partial: "PartialCallback[OutputT]",
    ) -> LLMResult[OutputT]:
        """One answer of ``output_type``, handed to ``on_partial`` as it grows (each partial
        validated as far as it goes), then validated whole."""
        async with self._running(call) as run:
            run.streamed = True
            agent = self._agent(call.agent)
            async with agent.run_stream(
                call.prompt, output_type=self._output_spec(output_type), **self._run_options(run)
            ) as stream:
                async for partial in stream.stream_output(debounce_by=None):
                    run.stream_started = True
                    await on_partial(partial)
                output: OutputT = await stream.get_output()
        return LLMResult(output=output, usage=self._usage_record(run))

    @asynccontextmanager
    async def _running(self, call: LLMCall) -> AsyncIterator[_Run]:
        route = self._routes.for_agent(call.agent)
        breaker = self._breakers[route]
        # Refuse before touching Redis; the model wrapper makes the binding decision per request.
        breaker.check()
        stats = CallStats()
        run = _Run(
            call=call,
            route=route,
            model=ResilientModel(
                self._models[route], breaker=breaker, policy=self._policy, stats=stats
            ),
            stats=stats,
        )
        async with self._limits.admit(
            project_id=call.project_id, user_id=call.user_id, spent=lambda: run.total_tokens
        ):
            try:
                yield run
            except AgentRunError as error:
                failure = translate(
                    error,
                    route,
                    stream_started=run.stream_started,
                    call_token_limit=self._settings.call_token_limit,
                    secrets=self._secrets,
                )
                run.error = failure
                failure.usage = self._usage_record(run)
                raise failure from error
            except LLMError as error:  # the circuit opened while the run was going
                run.error = error
                error.usage = self._usage_record(run)
                raise
            finally:
                self._log(run)

    @property
    def _secrets(self) -> tuple[str, ...]:
        key = self._settings.api_key
        return (key.get_secret_value(),) if key is not None else ()

    def _run_options(self, run: _Run) -> dict[str, Any]:
        return {
            "model": run.model,
            "instructions": run.call.instructions,
            "usage": run.usage,
            "usage_limits": UsageLimits(total_tokens_limit=self._settings.call_token_limit),
            # Always sent: without it a model may write up to its whole context window.
            "model_settings": ModelSettings(max_tokens=self._settings.max_tokens[run.call.kind]),
            "retries": {"output": self._settings.output_retries},
        }

    def _agent(self, name: AgentName) -> Agent[None, str]:
        agent = self._agents.get(name)
        if agent is None:
            agent = Agent(
                name=name.value,
                capabilities=[Instrumentation(settings=self._instrumentation)],
            )
            self._agents[name] = agent
        return agent

    def _output_spec(self, output_type: type[OutputT]) -> OutputSpec[OutputT]:
        if output_type is str:
            return output_type
        mode = self._settings.output_mode
        if mode is LLMOutputMode.NATIVE:
            return NativeOutput(output_type)
        if mode is LLMOutputMode.PROMPTED:
            return PromptedOutput(output_type)
        return ToolOutput(output_type)

    def _usage_record(self, run: _Run) -> LLMUsage:
        return LLMUsage(
            agent=run.call.agent,
            kind=run.call.kind,
            provider=run.route.provider,
            model=run.route.model_name,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            estimated_tokens=run.stats.estimated_tokens,
            requests=run.stats.requests,
            retries=run.stats.retries,
            output_retries=_output_retries(run.stats),
            latency_ms=(time.perf_counter() - run.started) * 1000,
            streamed=run.streamed,
            started_at=run.started_at,
            error=run.error.code if run.error is not None else None,
        )

    def _log(self, run: _Run) -> None:
        # Sizes and timings only: prompts and outputs never go to the log. A refused request
        # is the exception: its scrubbed explanation is what the operator needs to fix it.
        error = run.error
        if isinstance(error, LLMRequestRejectedError):
            details = error.details if isinstance(error.details, dict) else {}
            logger.warning(
                "llm_request_rejected",
                agent=run.call.agent.value,
                project_id=str(run.call.project_id),
                model=run.route.model_name,
                status=details.get("status"),
                provider_message=details.get("provider_message"),
            )
        logger.info(
            "llm_call",
            agent=run.call.agent.value,
            kind=run.call.kind.value,
            project_id=str(run.call.project_id),
            model=run.route.model_name,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            estimated_tokens=run.stats.estimated_tokens,
            requests=run.stats.requests,
            retries=run.stats.retries,
            output_retries=_output_retries(run.stats),
            streamed=run.streamed,
            error=error.code if error is not None else None,
            latency_ms=round((time.perf_counter() - run.started) * 1000, 1),
        )


def _output_retries(stats: CallStats) -> int:
    # No function tools are offered, so every model request after the first answers a
    # validation failure.
    return max(0, stats.steps - 1)
