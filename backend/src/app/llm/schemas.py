from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.core.config import LLMCallKind, LLMProvider
from app.llm.constants import AgentName

OutputT = TypeVar("OutputT")

DeltaCallback = Callable[[str], Awaitable[None]]
"""Receives each piece of streamed text as it arrives."""

PartialCallback = Callable[[OutputT], Awaitable[None]]
"""Receives a structured output as it grows, each time more of it has arrived."""


class LLMCall(BaseModel):
    """One model call on behalf of a user, inside a project."""

    model_config = ConfigDict(frozen=True)

    agent: AgentName
    kind: LLMCallKind = Field(description="What the call is for; bounds the tokens it may write.")
    project_id: UUID
    user_id: UUID
    instructions: str = Field(min_length=1, description="The agent's system instructions.")
    prompt: str = Field(min_length=1, description="What the agent is asked this time.")


class LLMUsage(BaseModel):
    """What one call cost and how it went, whether it succeeded or not; the conversation engine
    stores it per execution, and the budgets are charged its tokens."""

    model_config = ConfigDict(frozen=True)

    agent: AgentName
    kind: LLMCallKind | None = None  # None only in records stored before kinds existed
    provider: LLMProvider
    model: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    estimated_tokens: int = Field(
        default=0,
        ge=0,
        description="How many of the tokens above are our estimate: responses that reported no "
        "usage (some servers omit it from streams) and requests that failed after being sent.",
    )
    requests: int = Field(
        ge=0,
        description="Requests that reached the provider, failed and repeated ones included.",
    )
    retries: int = Field(ge=0, description="Requests repeated after 429, 5xx, timeouts, resets.")
    output_retries: int = Field(ge=0, description="Outputs sent back for failing validation.")
    latency_ms: float = Field(ge=0)
    streamed: bool
    started_at: datetime
    error: str | None = Field(default=None, description="The error code the call failed with.")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class LLMResult(Generic[OutputT]):
    output: OutputT
    usage: LLMUsage


class BudgetRead(BaseModel):
    """One token budget: settled tokens against the limit, over the current window."""

    used: int = Field(ge=0, description="Tokens settled in this window.")
    limit: int = Field(ge=1)
    resets_in_seconds: int | None = Field(
        description="When the window starts again; null until something is spent in it."
    )


class BudgetsRead(BaseModel):
    """The project's budget (shared by its members) and the caller's own, over all their
    projects; a model call needs room in both."""

    project: BudgetRead
    user: BudgetRead
