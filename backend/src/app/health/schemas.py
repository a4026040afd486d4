from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class PartCheck(BaseModel):
    ok: bool
    latency_ms: float = Field(description="Time the check took.")
    error: str | None = Field(default=None, description="Why the part failed, in our words.")


class LLMCheck(BaseModel):
    """The model provider, reported beside the parts: it never fails readiness, since members,
    documents and exports work without it."""

    status: Literal["not_configured", "ok", "unreachable"]
    provider: str
    model: str | None = Field(description="JEEX_LLM_MODEL, or null when not configured.")
    output_mode: str
    error: str | None = Field(default=None, description="Why it is unreachable, in our words.")
    checked_seconds_ago: float = Field(
        description="The provider is asked at most every 30 s; this is the age of the answer."
    )


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    failed: list[str] = Field(description="Names of the parts that failed their check.")
    checks: dict[str, PartCheck]
    llm: LLMCheck
