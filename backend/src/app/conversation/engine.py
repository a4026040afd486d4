"""One run through the protocol: classify, then step after step until done.

The run's cursor (its next step and its carry) is stored with each step's effect in one
transaction, so a run taken over by another worker resumes at the step it stopped in and never
applies a step twice. Model calls happen between transactions. Whatever the model answers
within its schema, the run ends with a message the user sees, or it fails, which posts one.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel
from saq import Queue

from app.conversation import prompts
from app.conversation import repository as conversation_repository
from app.conversation.effects import Carry, OutputT
from app.conversation.models import RunKind
from app.conversation.protocol import Input, Step, classify, first_step
from app.conversation.resources import ConversationResources
from app.conversation.roster import PRODUCT_MANAGER, AgentSpec
from app.conversation.steps import MAX_CONFLICTS, STEPS, StepContext
from app.conversation.store import ConversationStore, RunRef
from app.core.config import LLMCallKind
from app.documents.exceptions import VersionConflictError
from app.events.deltas import DeltaCoalescer
from app.llm.exceptions import LLMError, LLMInvalidOutputError
from app.llm.schemas import LLMCall, LLMResult, LLMUsage
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

# An expert's section that comes back empty is asked for once more before the run fails.
_SECTION_ATTEMPTS = 2
# Steps one run may take: the longest path (classify, close, open next, ask) is far shorter;
# reaching this means steps keep handing over to each other, which is a bug.
_MAX_STEPS = 12


class RunInvariantError(RuntimeError):
    """The engine broke one of its own guarantees (e.g. a message left without a reply)."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The facts of the run being executed, read once when it was claimed."""

    id: UUID
    project_id: AccessibleProjectID
    user_id: UUID
    message_id: UUID | None
    kind: RunKind
    stage: DocumentType
    step: str | None
    carry: dict[str, Any] | None


class Turn:
    """One run's work for one project."""

    def __init__(
        self,
        resources: ConversationResources,
        gateway: "LLMGateway",
        queue: Queue,
        run: RunInfo,
    ) -> None:
        self.run = run
        self.store = ConversationStore(
            resources, queue, RunRef(run.id, run.project_id, run.message_id)
        )
        self.models = GatewayModels(resources, gateway, run)
        self.max_turns = resources.settings.conversation.max_turns_per_stage

    async def execute(self) -> None:
        step, carry = await self._cursor()
        conflicts = 0
        for _ in range(_MAX_STEPS):
            if step is Step.DONE:
                break
            snapshot = await self.store.snapshot()
            context = StepContext(snapshot, carry, self.store, self.models, self.max_turns)
            outcome = await STEPS[step](context)
            following = outcome.carry or carry
            try:
                carry = await self.store.apply(outcome.effects, outcome.next, following)
            except VersionConflictError:
                # Someone wrote the document between the step's read and its commit: the step
                # runs again and re-bases on (or re-integrates against) the new version.
                conflicts += 1
                if conflicts > MAX_CONFLICTS + 1:
                    raise
                carry = following
                continue
            step = outcome.next
        else:
            raise RunInvariantError(f"the run did not finish within {_MAX_STEPS} steps")
        if self.run.kind is RunKind.MESSAGE and not carry.replied:
            raise RunInvariantError("the run ended without a message the user sees")

    async def _cursor(self) -> tuple[Step, Carry]:
        """Where the run resumes; a run that never got past its first step starts over."""
        if self.run.step is not None:
            return Step(self.run.step), Carry.model_validate(self.run.carry or {})
        snapshot = await self.store.snapshot()
        if self.run.kind is RunKind.STAGE_START:
            return first_step(snapshot.phase, Input.STAGE_START), Carry(input=Input.STAGE_START)
        message = await self.store.user_message()
        placed = classify(message.content, snapshot.phase, snapshot.questions, snapshot.stage)
        carry = Carry(
            input=placed.input,
            selections=placed.selections,
            free_text=placed.free_text,
            expert=placed.expert,
            language=placed.language,
        )
        return first_step(snapshot.phase, placed.input), carry


class GatewayModels:
    """The steps' model calls, through the LLM gateway, with each call's usage recorded on the
    run and streamed text published as ``expert.section.delta`` events."""

    def __init__(
        self, resources: ConversationResources, gateway: "LLMGateway", run: RunInfo
    ) -> None:
        self.resources = resources
        self.gateway = gateway
        self.run = run

    def _call(self, agent: AgentSpec, kind: LLMCallKind, instructions: str, prompt: str) -> LLMCall:
        return LLMCall(
            agent=agent.name,
            kind=kind,
            project_id=self.run.project_id,
            user_id=self.run.user_id,
            instructions=instructions,
            prompt=prompt,
        )

    def _deltas(self, agent: AgentSpec) -> DeltaCoalescer:
        return DeltaCoalescer(
            self.resources.events,
            self.resources.settings.events,
            project_id=self.run.project_id,
            run_id=self.run.id,
            agent=agent.name.value,
        )

    async def generate(
        self,
        agent: AgentSpec,
        language: str | None,
        prompt: str,
        output_type: type[OutputT],
        *,
        kind: LLMCallKind,
    ) -> OutputT:
        call = self._call(agent, kind, prompts.instructions(agent, language), prompt)
        async with self._recording():
            result: LLMResult[OutputT] = await self.gateway.generate(call, output_type)
        await self._record(result.usage)
        return result.output

    async def stream_section(self, agent: AgentSpec, language: str, prompt: str) -> str:
        call = self._call(agent, LLMCallKind.SECTION, prompts.instructions(agent, language), prompt)
        for _ in range(_SECTION_ATTEMPTS):
            async with self._recording(), self._deltas(agent) as deltas:
                result = await self.gateway.stream_text(call, deltas.add)
            await self._record(result.usage)
            text = result.output.strip()
            if text:
                return text
        raise LLMInvalidOutputError(f"The {agent.role} wrote an empty section twice.")

    async def stream_opening(
        self, language: str | None, prompt: str, output_type: type[OutputT]
    ) -> OutputT:
        """The idea is streamed as it is written: each partial output that extends the
        restructured idea sends what it added."""
        call = self._call(
            PRODUCT_MANAGER,
            LLMCallKind.OPENING,
            prompts.instructions(PRODUCT_MANAGER, language),
            prompt,
        )
        sent = ""
        async with self._recording(), self._deltas(PRODUCT_MANAGER) as deltas:

            async def on_partial(partial: OutputT) -> None:
                nonlocal sent
                idea = _field(partial, "restructured_idea")
                if idea.startswith(sent) and len(idea) > len(sent):
                    await deltas.add(idea[len(sent) :])
                    sent = idea

            result = await self.gateway.stream_output(call, output_type, on_partial)
        await self._record(result.usage)
        return result.output

    @asynccontextmanager
    async def _recording(self) -> AsyncIterator[None]:
        """A call that fails still cost requests and tokens: its usage goes on the run too."""
        try:
            yield
        except LLMError as error:
            if error.usage is not None:
                await self._record(error.usage)
            raise

    async def _record(self, usage: LLMUsage) -> None:
        async with self.resources.session_factory.begin() as session:
            await conversation_repository.record_usage(
                session, self.run.project_id, self.run.id, usage.model_dump(mode="json")
            )


def _field(output: BaseModel, name: str) -> str:
    value = getattr(output, name, "")
    return value if isinstance(value, str) else ""
