"""The turn protocol: what the agents do with one run, step by step (PRODUCT.md, steps 1–7).

Model calls happen outside database transactions; each step that changes state commits on its
own and releases its events after the commit, so a run that dies leaves whole steps behind and
never half a document version.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversation import prompts
from app.conversation import repository as conversation_repository
from app.conversation.contracts import (
    ExpertQuestions,
    FloorAction,
    Greeting,
    Integration,
    Intent,
    IntentKind,
    LanguageDetection,
    floor_decision_for,
)
from app.conversation.models import ConversationState, RunKind
from app.conversation.parser import QuestionSpec, describe_valid, parse_reply
from app.conversation.resources import ConversationResources
from app.conversation.roster import PRODUCT_MANAGER, AgentSpec, agent, experts_of
from app.core.db import unit_of_work
from app.documents import repository as document_repository
from app.documents import service as document_service
from app.documents.sections import section_marker
from app.events import schemas as events
from app.events.deltas import DeltaCoalescer
from app.events.transaction import defer_event
from app.llm.schemas import LLMCall, LLMResult
from app.memory import service as memory_service
from app.messages import repository as message_repository
from app.messages.models import Message, MessageKind, MessageRole
from app.projects import transitions as stage_transitions
from app.projects.models import Project, ProjectStage
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import STAGE_ORDER, DocumentType

if TYPE_CHECKING:
    from app.llm.service import LLMGateway

OutputT = TypeVar("OutputT", bound=BaseModel)

# Earlier documents are context, not the subject: past this size they are cut to their start.
_EARLIER_DOCUMENT_CHARS = 6_000
_HISTORY_MESSAGES = 12


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The facts of the run being executed, read once when it was claimed."""

    id: UUID
    project_id: AccessibleProjectID
    user_id: UUID
    message_id: UUID | None
    kind: RunKind
    stage: DocumentType


class Turn:
    """One run's work for one project."""

    def __init__(
        self, resources: ConversationResources, gateway: "LLMGateway", run: RunInfo
    ) -> None:
        self.resources = resources
        self.gateway = gateway
        self.run = run
        self.project_id = run.project_id
        self.max_turns = resources.settings.conversation_max_turns_per_stage

    # --- entry ------------------------------------------------------------------------------

    async def execute(self) -> None:
        if self.run.kind is RunKind.STAGE_START:
            await self._give_floor_and_ask(self.run.stage, requested=None)
            return
        message = await self._user_message()
        language = await self._project_language()
        if language is None:
            await self._open_project(message)
            return
        await self._answer(message, language)

    # --- the first message ------------------------------------------------------------------

    async def _open_project(self, message: Message) -> None:
        detected = await self._generate(
            PRODUCT_MANAGER,
            prompts.language_detection_instructions(),
            prompts.render("task_language.md", message=message.content),
            LanguageDetection,
        )
        language = await self._lock_language(detected.language)
        greeting = await self._generate(
            PRODUCT_MANAGER,
            prompts.instructions(PRODUCT_MANAGER, language),
            prompts.render("task_greeting.md", message=message.content),
            Greeting,
        )
        async with unit_of_work(self.resources) as session:
            await self._post(
                session, PRODUCT_MANAGER, MessageKind.TEXT, greeting.greeting, DocumentType.IDEA
            )
            await stage_transitions.mark_stage_in_progress(
                session, self.project_id, DocumentType.IDEA
            )
            written = await self._write_document(
                session,
                DocumentType.IDEA,
                expected_version=0,
                content=greeting.restructured_idea,
                reason="the raw idea, restructured",
                sources=[message.id],
            )
        await self._remember_version(DocumentType.IDEA, written)
        await self._give_floor_and_ask(DocumentType.IDEA, requested=None)

    async def _lock_language(self, detected: str) -> str:
        """The project's language is written once; a concurrent writer's choice stands."""
        async with unit_of_work(self.resources) as session:
            return await stage_transitions.lock_language(session, self.project_id, detected)

    # --- every later message ----------------------------------------------------------------

    async def _answer(self, message: Message, language: str) -> None:
        stage = await self._current_stage()
        state = await self._state_snapshot()
        if state.pending_questions is None or state.floor_agent is None:
            await self._give_floor_and_ask(stage, requested=None)
            return
        expert = agent(state.floor_agent)
        questions = state.pending_questions
        intent = await self._generate(
            PRODUCT_MANAGER,
            prompts.instructions(PRODUCT_MANAGER, language),
            prompts.render(
                "task_intent.md",
                expert=expert.role,
                experts=", ".join(spec.name.value for spec in experts_of(stage)),
                questions=_questions_text(questions),
                message=message.content,
            ),
            Intent,
        )
        if intent.kind is IntentKind.SATISFIED:
            await self.complete_stage(stage)
            return
        if intent.kind is IntentKind.ADDRESS_EXPERT:
            addressed = self._stage_expert(stage, intent.expert)
            if addressed is not None:
                await self._give_floor_and_ask(stage, requested=addressed)
                return
        if intent.kind is IntentKind.ACCEPT_RECOMMENDATIONS:
            selections = {
                int(question["number"]): [str(question["recommended"])]
                for question in questions
                if question.get("recommended")
            }
            free_text = ""
        else:
            specs = [_spec(question) for question in questions]
            parsed = parse_reply(message.content, specs)
            if not parsed.is_valid:
                await self._refuse_answer(parsed.errors, specs, stage)
                return
            selections, free_text = parsed.selections, parsed.free_text
        await self._expert_turn(stage, expert, state, message, selections, free_text, language)

    async def _refuse_answer(
        self, errors: Sequence[Any], specs: Sequence[QuestionSpec], stage: DocumentType
    ) -> None:
        invalid = "; ".join(error.message for error in errors)
        async with unit_of_work(self.resources) as session:
            await self._post(
                session,
                PRODUCT_MANAGER,
                MessageKind.ERROR,
                f"⚠ {invalid}. ✓ {describe_valid(specs)}",
                stage,
                payload={"invalid": invalid, "valid": describe_valid(specs)},
            )

    async def _expert_turn(
        self,
        stage: DocumentType,
        expert: AgentSpec,
        state: ConversationState,
        message: Message,
        selections: dict[int, list[str]],
        free_text: str,
        language: str,
    ) -> None:
        questions = state.pending_questions or []
        document = await self._document_text(stage)
        answers = _answers_text(questions, selections, free_text)
        memory = await self._memory(f"{_questions_text(questions)}\n{answers}")
        section = await self._stream_section(
            expert,
            language,
            prompts.render(
                "task_section.md",
                stage=stage.value,
                markers=", ".join(section_marker(key) for key in expert.sections),
                questions=_questions_text(questions),
                answers=answers,
                document=document,
                earlier=await self._earlier_documents(stage),
                memory=memory,
            ),
        )
        async with unit_of_work(self.resources) as session:
            section_message = await self._post(
                session,
                expert,
                MessageKind.SECTION,
                section,
                stage,
                payload={"selections": selections, "free_text": free_text},
            )
            defer_event(
                session,
                events.ExpertSection(
                    project_id=self.project_id,
                    run_id=self.run.id,
                    agent=expert.name.value,
                    message_id=section_message.id,
                    title=_title(section, expert),
                    content=section,
                ),
            )
        await self._remember_section(stage, expert, section)
        current = await self._document_version(stage)
        integration = await self._generate(
            PRODUCT_MANAGER,
            prompts.instructions(PRODUCT_MANAGER, language),
            prompts.render(
                "task_integration.md",
                expert=expert.role,
                stage=stage.value,
                document=document,
                section=section,
            ),
            Integration,
        )
        async with unit_of_work(self.resources) as session:
            written = await self._write_document(
                session,
                stage,
                expected_version=current,
                content=integration.document,
                reason=f"{expert.name.value}: {integration.summary}",
                sources=[
                    source
                    for source in (state.questions_message_id, message.id, section_message.id)
                    if source is not None
                ],
            )
            conversation = await conversation_repository.state(session, self.project_id)
            conversation.turns += 1
            conversation.pending_questions = None
            conversation.questions_message_id = None
            turns = conversation.turns
        await self._remember_version(stage, written)
        if turns >= self.max_turns:
            await self.complete_stage(stage)
            return
        await self._give_floor_and_ask(stage, requested=None)

    # --- the floor --------------------------------------------------------------------------

    async def _give_floor_and_ask(self, stage: DocumentType, requested: AgentSpec | None) -> None:
        language = await self._project_language()
        if language is None:
            raise RuntimeError("a stage cannot run before the project's language is known")
        expert = requested
        reason = "the user asked for this expert"
        if expert is None:
            state = await self._state_snapshot()
            stage_experts = experts_of(stage)
            decision = await self._generate(
                PRODUCT_MANAGER,
                prompts.instructions(PRODUCT_MANAGER, language),
                prompts.render(
                    "task_floor.md",
                    stage=stage.value,
                    experts=", ".join(spec.name.value for spec in stage_experts),
                    spoken=", ".join(state.spoken) or "(nobody yet)",
                    turns=state.turns,
                    max_turns=self.max_turns,
                    document=await self._document_text(stage),
                ),
                floor_decision_for(stage_experts),
            )
            chosen = getattr(decision, "agent", None)
            if decision.action is FloorAction.STAGE_COVERED or chosen is None:
                await self.complete_stage(stage)
                return
            expert, reason = agent(chosen), decision.reason
        asked = await self._generate(
            expert,
            prompts.instructions(expert, language),
            prompts.render(
                "task_questions.md",
                stage=stage.value,
                sections=", ".join(expert.sections),
                earlier=await self._earlier_documents(stage),
                document=await self._document_text(stage),
                history=await self._history(expert),
                memory=await self._memory(f"{expert.focus}\n{await self._document_text(stage)}"),
            ),
            ExpertQuestions,
        )
        questions = [
            {
                "number": number,
                "text": question.text,
                "options": [option.model_dump() for option in question.options],
                "recommended": question.recommended,
            }
            for number, question in enumerate(asked.questions, start=1)
        ]
        async with unit_of_work(self.resources) as session:
            defer_event(
                session,
                events.AgentFloor(
                    project_id=self.project_id,
                    run_id=self.run.id,
                    agent=expert.name.value,
                    stage=stage.value,
                    reason=reason,
                ),
            )
            posted = await self._post(
                session,
                expert,
                MessageKind.QUESTIONS,
                _questions_text(questions),
                stage,
                payload={"questions": questions},
            )
            state = await conversation_repository.state(session, self.project_id)
            state.floor_agent = expert.name.value
            state.pending_questions = questions
            state.questions_message_id = posted.id
            state.spoken = [*state.spoken, expert.name.value]
            defer_event(
                session,
                events.ExpertQuestions(
                    project_id=self.project_id,
                    run_id=self.run.id,
                    agent=expert.name.value,
                    message_id=posted.id,
                    questions=[events.Question.model_validate(item) for item in questions],
                ),
            )

    async def complete_stage(self, stage: DocumentType) -> None:
        async with unit_of_work(self.resources) as session:
            await complete_stage(session, self.project_id, stage)

    # --- model calls ------------------------------------------------------------------------

    async def _generate(
        self, spec: AgentSpec, instructions: str, prompt: str, output_type: type[OutputT]
    ) -> OutputT:
        call = LLMCall(
            agent=spec.name,
            project_id=self.project_id,
            user_id=self.run.user_id,
            instructions=instructions,
            prompt=prompt,
        )
        result: LLMResult[OutputT] = await self.gateway.generate(call, output_type)
        await self._record(result)
        return result.output

    async def _stream_section(self, expert: AgentSpec, language: str, prompt: str) -> str:
        call = LLMCall(
            agent=expert.name,
            project_id=self.project_id,
            user_id=self.run.user_id,
            instructions=prompts.instructions(expert, language),
            prompt=prompt,
        )
        async with DeltaCoalescer(
            self.resources.events,
            self.resources.settings,
            project_id=self.project_id,
            run_id=self.run.id,
            agent=expert.name.value,
        ) as deltas:
            result = await self.gateway.stream_text(call, deltas.add)
        await self._record(result)
        text = result.output.strip()
        if not text:
            raise ValueError(f"{expert.name.value} wrote an empty section")
        return text

    async def _record(self, result: LLMResult[Any]) -> None:
        async with self.resources.session_factory.begin() as session:
            await conversation_repository.record_usage(
                session, self.project_id, self.run.id, result.usage.model_dump(mode="json")
            )

    # --- reading ----------------------------------------------------------------------------

    async def _user_message(self) -> Message:
        if self.run.message_id is None:
            raise RuntimeError("a message run without its message")
        async with self.resources.session_factory() as session:
            message = await session.get(Message, self.run.message_id)
        if message is None or message.project_id != self.project_id:
            raise LookupError(self.run.message_id)
        return message

    async def _project_language(self) -> str | None:
        async with self.resources.session_factory() as session:
            project = await session.get(Project, self.project_id)
        if project is None:
            raise LookupError(self.project_id)
        return project.language

    async def _current_stage(self) -> DocumentType:
        async with self.resources.session_factory() as session:
            project = await session.get(Project, self.project_id)
        if project is None:
            raise LookupError(self.project_id)
        return DocumentType(project.current_stage)

    async def _state_snapshot(self) -> ConversationState:
        async with self.resources.session_factory.begin() as session:
            return await conversation_repository.state(session, self.project_id)

    async def _document_text(self, stage: DocumentType) -> str:
        async with self.resources.session_factory() as session:
            current = await document_repository.latest(session, self.project_id, stage)
        return current.content if current is not None else "(not written yet)"

    async def _document_version(self, stage: DocumentType) -> int:
        async with self.resources.session_factory() as session:
            current = await document_repository.latest(session, self.project_id, stage)
        return current.version if current is not None else 0

    async def _earlier_documents(self, stage: DocumentType) -> str:
        earlier = STAGE_ORDER[: STAGE_ORDER.index(stage)]
        if not earlier:
            return "(none)"
        parts = []
        async with self.resources.session_factory() as session:
            for document_type in earlier:
                current = await document_repository.latest(session, self.project_id, document_type)
                if current is not None:
                    parts.append(_condensed(current.content))
        return "\n\n---\n\n".join(parts) or "(none)"

    async def _history(self, expert: AgentSpec) -> str:
        async with self.resources.session_factory() as session:
            recent = await message_repository.older_than(
                session, self.project_id, None, _HISTORY_MESSAGES
            )
        mine = [
            f"{message.author_agent or 'user'}: {message.content}"
            for message in reversed(recent)
            if message.author_agent in (None, expert.name.value)
        ]
        return "\n\n".join(mine) or "(none)"

    async def _memory(self, query: str) -> str:
        """The project's memory closest to ``query``: the top hits, filtered by the project and
        its language inside the memory service."""
        if not query.strip():
            return "(nothing yet)"
        async with self.resources.session_factory() as session:
            hits = await memory_service.search(
                session, self.resources.memory, self.project_id, query
            )
        return "\n\n".join(hit.text for hit in hits) or "(nothing yet)"

    async def _remember_version(self, stage: DocumentType, version: int) -> None:
        async with self.resources.session_factory() as session:
            await memory_service.index_document_version(
                session, self.resources.memory, self.project_id, stage, version
            )

    async def _remember_section(self, stage: DocumentType, expert: AgentSpec, text: str) -> None:
        async with self.resources.session_factory() as session:
            await memory_service.index_section(
                session,
                self.resources.memory,
                self.project_id,
                document_type=stage,
                expert=expert.name.value,
                text=text,
            )

    def _stage_expert(self, stage: DocumentType, name: str | None) -> AgentSpec | None:
        return next((spec for spec in experts_of(stage) if spec.name.value == name), None)

    # --- writing ----------------------------------------------------------------------------

    async def _post(
        self,
        session: AsyncSession,
        spec: AgentSpec,
        kind: MessageKind,
        content: str,
        stage: DocumentType,
        payload: dict[str, Any] | None = None,
    ) -> Message:
        return await message_repository.add(
            session,
            self.project_id,
            role=MessageRole.AGENT,
            kind=kind,
            content=content,
            author_agent=spec.name.value,
            stage=stage.value,
            payload=payload,
        )

    async def _write_document(
        self,
        session: AsyncSession,
        stage: DocumentType,
        *,
        expected_version: int,
        content: str,
        reason: str,
        sources: list[UUID],
    ) -> int:
        version = await document_service.append_version(
            session,
            self.project_id,
            stage,
            expected_version=expected_version,
            content=content,
            reason=reason[:1000],
            author_agent=PRODUCT_MANAGER.name.value,
            source_message_ids=sources,
        )
        return version.version


async def complete_stage(
    session: AsyncSession, project_id: AccessibleProjectID, stage: DocumentType
) -> ProjectStage:
    """Close a stage: the floor is cleared and the next stage may start."""
    row = await stage_transitions.complete_stage(session, project_id, stage)
    state = await conversation_repository.state(session, project_id)
    state.floor_agent = None
    state.pending_questions = None
    state.questions_message_id = None
    index = STAGE_ORDER.index(stage)
    following = STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None
    defer_event(
        session,
        events.StageCompleted(
            project_id=project_id,
            stage=stage.value,
            next_stage=following.value if following else None,
        ),
    )
    return row


def _spec(question: dict[str, Any]) -> QuestionSpec:
    letters = tuple(str(option["letter"]) for option in question["options"])
    return QuestionSpec(number=int(question["number"]), letters=letters)


def _questions_text(questions: Sequence[dict[str, Any]]) -> str:
    lines = []
    for question in questions:
        lines.append(f"{question['number']}. {question['text']}")
        for option in question["options"]:
            mark = " (recommended)" if option["letter"] == question.get("recommended") else ""
            lines.append(f"   {option['letter']}) {option['text']}{mark}")
    return "\n".join(lines)


def _answers_text(
    questions: Sequence[dict[str, Any]], selections: dict[int, list[str]], free_text: str
) -> str:
    lines = []
    for question in questions:
        chosen = selections.get(int(question["number"]), [])
        texts = [option["text"] for option in question["options"] if option["letter"] in chosen]
        if texts:
            lines.append(f"{question['number']}. {question['text']} → {'; '.join(texts)}")
    if free_text:
        lines.append(free_text)
    return "\n".join(lines) or "(no answer)"


def _title(section: str, expert: AgentSpec) -> str:
    for line in section.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip() or expert.role
    return expert.role


def _condensed(text: str) -> str:
    if len(text) <= _EARLIER_DOCUMENT_CHARS:
        return text
    return text[:_EARLIER_DOCUMENT_CHARS] + "\n\n[… condensed: the rest is omitted]"
