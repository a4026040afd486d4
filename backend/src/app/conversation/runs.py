"""A run's life in the worker: claimed under a lease, executed, and ended visibly.

A project's runs execute one at a time, oldest first: a Redis lock per project admits one
worker, which drains the project's queue. A worker that dies stops renewing both the lock and
the run's lease; the next worker to look at the project takes the run over (up to a bound of
attempts) or fails it with an error event. A run is never left ``running``.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import structlog
from pydantic_core import to_jsonable_python
from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversation import repository as conversation_repository
from app.conversation.engine import RunInfo, Turn
from app.conversation.models import AgentExecution, RunKind, RunStatus
from app.conversation.resources import ConversationResources
from app.conversation.run_access import (
    USER_CANCELLED,
    MembersOnlyModels,
    Refusal,
    RunAccessEndedError,
    access_refusal,
)
from app.conversation.store import post_cancelled, post_text
from app.core.db import unit_of_work
from app.core.errors import AppError
from app.core.redis import project_key
from app.events import schemas as events
from app.events.transaction import defer_event
from app.messages.models import MessageRole
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

logger = structlog.get_logger(__name__)

_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RunCancelledError(Exception):
    """The user cancelled the run while it executed."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended, as the run row, its last event and the chat record it."""

    status: RunStatus
    code: str | None = None
    message: str | None = None
    details: Any | None = None


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def project_lock(resources: ConversationResources, project_id: UUID) -> AsyncIterator[bool]:
    """Yields whether this worker holds the project's run lock (renewed while held)."""
    key = project_key(project_id, "runs", "lock")
    token = uuid4().hex
    lease_ms = int(resources.settings.conversation.lease_seconds * 1000)
    acquired = bool(await resources.redis.set(key, token, nx=True, px=lease_ms))
    if not acquired:
        yield False
        return

    async def renew() -> None:
        script = resources.redis.register_script(_RENEW_LOCK)
        while True:
            await asyncio.sleep(resources.settings.conversation.lease_seconds / 3)
            await script(keys=[key], args=[token, lease_ms])

    renewal = asyncio.create_task(renew())
    try:
        yield True
    finally:
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        await resources.redis.register_script(_RELEASE_LOCK)(keys=[key], args=[token])


class Drain(StrEnum):
    """How a turn at a project's queue ended."""

    BUSY = "busy"  # another worker holds the project; it looks again once it lets go
    DRAINED = "drained"  # no run was left to claim
    YIELDED = "yielded"  # the turn's runs are done; the project may have more waiting


async def drain_project(
    resources: ConversationResources,
    gateway: "LLMGateway",
    queue: Queue,
    project_id: UUID,
    *,
    limit: int,
) -> Drain:
    """Run up to ``limit`` of the project's waiting runs, in order, under the project's lock.

    Bounded so that a busy project gives its worker slot back: the caller queues the project
    again behind the others when runs are still waiting (see app.conversation.worker).
    """
    if limit < 1:
        raise ValueError("a turn runs at least one run")
    # The id comes from a run row this service wrote after the access guard admitted its user.
    scoped = AccessibleProjectID(project_id)
    async with project_lock(resources, project_id) as held:
        if not held:
            return Drain.BUSY
        for _ in range(limit):
            run = await _claim_next(resources, scoped)
            if run is None:
                return Drain.DRAINED
            await _execute(resources, gateway, queue, run)
    return Drain.YIELDED


async def has_waiting_runs(resources: ConversationResources, project_id: UUID) -> bool:
    async with resources.session_factory() as session:
        return await conversation_repository.has_open_runs(session, AccessibleProjectID(project_id))


async def _claim_next(
    resources: ConversationResources, project_id: AccessibleProjectID
) -> RunInfo | None:
    """Take the next run, or give up on one whose worker died too often."""
    settings = resources.settings
    while True:
        async with unit_of_work(resources) as session:
            run = await conversation_repository.next_runnable(session, project_id, _now())
            if run is None:
                return None
            if run.cancel_requested:
                await _post_cancelled(session, run)
                _end(session, run, RunStatus.CANCELLED, "cancelled", "The run was cancelled.")
                continue
            if run.attempts >= settings.conversation.max_attempts:
                await _post_failure(session, run, "run_abandoned")
                _end(
                    session,
                    run,
                    RunStatus.FAILED,
                    "run_abandoned",
                    "The run stopped unexpectedly too many times.",
                )
                continue
            if run.user_id is None:
                await _post_failure(session, run, "user_gone", "The run's user was deleted.")
                _end(session, run, RunStatus.FAILED, "user_gone", "The run's user was deleted.")
                continue
            # Queued by someone removed (or demoted) since: it never runs, nor spends budget.
            if (refusal := await access_refusal(session, project_id, run.user_id)) is not None:
                await _post_cancelled(session, run)
                _end(session, run, RunStatus.CANCELLED, *refusal)
                continue
            run.status = RunStatus.RUNNING
            run.attempts += 1
            run.started_at = _now()
            run.lease_until = _now() + timedelta(seconds=settings.conversation.lease_seconds)
            defer_event(
                session,
                events.RunStarted(
                    project_id=project_id,
                    run_id=run.id,
                    message_id=run.message_id,
                    stage=run.stage,
                ),
            )
            return RunInfo(
                id=run.id,
                project_id=project_id,
                user_id=run.user_id,
                message_id=run.message_id,
                kind=RunKind(run.kind),
                stage=DocumentType(run.stage),
                step=run.step,
                carry=run.carry,
            )


async def _execute(
    resources: ConversationResources, gateway: "LLMGateway", queue: Queue, run: RunInfo
) -> None:
    work = Turn(resources, gateway, queue, run)
    work.models = MembersOnlyModels(resources, gateway, run)
    turn = asyncio.create_task(work.execute())
    heartbeat = asyncio.create_task(_heartbeat(resources, run, turn))
    outcome: Outcome
    try:
        await turn
        outcome = Outcome(RunStatus.COMPLETED)
    except asyncio.CancelledError:
        stopped_by = heartbeat.result() if heartbeat.done() else None
        if stopped_by is None:
            raise  # the worker itself is stopping: the lease lapses and the run is taken over
        outcome = Outcome(RunStatus.CANCELLED, *stopped_by)
    except RunAccessEndedError as ended:
        outcome = Outcome(RunStatus.CANCELLED, *ended.refusal)
    except AppError as error:
        # Details are what an API error body would carry: made for the user to see.
        details = to_jsonable_python(error.details) if error.details is not None else None
        outcome = Outcome(RunStatus.FAILED, error.code, error.message, details)
    except Exception:
        logger.exception("run_failed", run_id=str(run.id), project_id=str(run.project_id))
        outcome = Outcome(RunStatus.FAILED, "internal_error", "The run failed unexpectedly.")
    finally:
        if not heartbeat.done():
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
    await _finish(resources, run, outcome)


async def _heartbeat(
    resources: ConversationResources, run: RunInfo, turn: "asyncio.Task[None]"
) -> Refusal | None:
    """Keep the lease alive; cancel the turn (and its model call) when the user asks to, or
    when the user lost access to the project. Returns why it cancelled the turn, if it did."""
    interval = resources.settings.conversation.lease_seconds / 3
    while not turn.done():
        await asyncio.sleep(interval)
        until = _now() + timedelta(seconds=resources.settings.conversation.lease_seconds)
        async with resources.session_factory.begin() as session:
            cancel = await conversation_repository.extend_lease(
                session, run.project_id, run.id, until
            )
            refusal = (
                USER_CANCELLED
                if cancel
                else await access_refusal(session, run.project_id, run.user_id)
            )
        if refusal is not None:
            turn.cancel()
            return refusal
    return None


async def _finish(resources: ConversationResources, run: RunInfo, outcome: "Outcome") -> None:
    async with unit_of_work(resources) as session:
        row = await conversation_repository.get_run(session, run.project_id, run.id, lock=True)
        if row is None:
            return
        # The chat's message first: the run's last event is its end.
        if outcome.status is RunStatus.FAILED and outcome.code is not None:
            await _post_failure(session, row, outcome.code, outcome.message, outcome.details)
        elif outcome.status is RunStatus.CANCELLED:
            await _post_cancelled(session, row)
        _end(session, row, outcome.status, outcome.code, outcome.message, outcome.details)


def _end(
    session: AsyncSession,
    run: AgentExecution,
    status: RunStatus,
    code: str | None,
    message: str | None,
    details: Any | None = None,
) -> None:
    run.status = status
    run.finished_at = _now()
    run.lease_until = None
    run.error_code = code
    run.error_message = message
    run.error_details = details
    project_id = AccessibleProjectID(run.project_id)
    if status is RunStatus.COMPLETED:
        event: events.RunCompleted | events.RunFailed = events.RunCompleted(
            project_id=project_id, run_id=run.id
        )
    else:
        event = events.RunFailed(
            project_id=project_id,
            run_id=run.id,
            error=events.ErrorInfo(
                code=code or "failed", message=message or "The run failed.", details=details
            ),
        )
    defer_event(session, event)


async def _post_failure(
    session: AsyncSession,
    run: AgentExecution,
    code: str,
    message: str | None = None,
    details: Any | None = None,
) -> None:
    """The chat tells the user too: the failure is part of the conversation's story."""
    payload: dict[str, Any] = {"code": code, "run_id": str(run.id)}
    if details is not None:
        payload["details"] = details
    await post_text(
        session,
        AccessibleProjectID(run.project_id),
        run.id,
        message or "The run failed.",
        DocumentType(run.stage),
        error=True,
        payload=payload,
        role=MessageRole.SYSTEM,
    )


async def _post_cancelled(session: AsyncSession, run: AgentExecution) -> None:
    await post_cancelled(
        session, AccessibleProjectID(run.project_id), run.id, DocumentType(run.stage)
    )
