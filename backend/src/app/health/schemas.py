from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class PartCheck(BaseModel):
    ok: bool
    latency_ms: float = Field(description="Time the check took.")
    error: str | None = Field(default=None, description="Why the part failed, in our words.")


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    failed: list[str] = Field(description="Names of the parts that failed their check.")
    checks: dict[str, PartCheck]
