"""The conversation's reads and writes in PostgreSQL: the steps' Reader, and the one place
their effects are applied, together with the run's cursor, in one transaction."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversation import language as conversation_language
from app.conversation import notices
from app.conversation import repository as conversation_repository
from app.conversation.effects import (
    Carry,
    CompleteStage,
    CorrectLanguage,
    Document,
    Effect,
    GiveFloor,
    IntegrateVersion,
    OpenProject,
    OpenStage,
    PostNotice,
    PostSection,
    PropagateVersion,
    Snapshot,
    UserMessage,
)
from app.conversation.exceptions import LanguageLockedError, LanguageUnknownError
from app.conversation.models import ConversationState
from app.conversation.protocol import Phase, Step
from app.conversation.questions import OpenQuestion, questions_text
from app.conversation.resources import ConversationResources
from app.conversation.roster import PRODUCT_MANAGER, AgentSpec
from app.core.db import after_commit, unit_of_work
from app.documents import repository as document_repository
from app.documents import service as document_service
from app.documents.service import WrittenVersion
from app.documents.tracing import service as trace_service
from app.documents.tracing.graph import GapKind
from app.documents.tracing.items import id_order
from app.documents.tracing.service import Propagation
from app.events import schemas as events
from app.events.transaction import defer_event
from app.memory import jobs as memory_jobs
from app.memory import service as memory_service
from app.messages import repository as message_repository
from app.messages.models import Message, MessageKind, MessageRole
from app.projects import repository as project_repository
from app.projects import transitions as stage_transitions
from app.projects.models import Project, ProjectRole
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import STAGE_ORDER, DocumentType

# Earlier documents are context, not the subject: past this size they are cut to their start.
_EARLIER_DOCUMENT_CHARS = 6_000
_HISTORY_MESSAGES = 12
_REASON_CHARS = 1000
_GAPS_SHOWN = 20
# The stages whose items realise requirements.
_REALISING = frozenset({DocumentType.ARCHITECTURE, DocumentType.PLAN})


@dataclass(frozen=True, slots=True)
class RunRef:
    id: UUID
    project_id: AccessibleProjectID
    message_id: UUID | None


class ConversationStore:
    """Reads for the steps, and :meth:`apply` for their outcomes."""

    def __init__(self, resources: ConversationResources, queue: Queue, run: RunRef) -> None:
        self.resources = resources
        self.queue = queue
        self.run = run
        self.project_id = run.project_id

    # --- Reader -------------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        async with self.resources.session_factory.begin() as session:
            project = await session.get(Project, self.project_id)
            if project is None:
                raise LookupError(self.project_id)
            state = await conversation_repository.state(session, self.project_id)
            stage = DocumentType(project.current_stage)
            latest = await document_repository.latest(session, self.project_id, stage)
            return Snapshot(
                phase=Phase(state.phase),
                stage=stage,
                language=project.language,
                floor=state.floor_agent,
                questions=tuple(
                    OpenQuestion.model_validate(item) for item in state.pending_questions or []
                ),
                questions_message_id=state.questions_message_id,
                spoken=tuple(state.spoken),
                turns=state.turns,
                stage_written=(latest.version if latest else 0) > state.stage_base_version,
            )

    async def user_message(self) -> UserMessage:
        if self.run.message_id is None:
            raise RuntimeError("a message step in a run without its message")
        async with self.resources.session_factory() as session:
            message = await session.get(Message, self.run.message_id)
        if message is None or message.project_id != self.project_id:
            raise LookupError(self.run.message_id)
        return UserMessage(id=message.id, content=message.content)

    async def latest(self, stage: DocumentType) -> Document | None:
        async with self.resources.session_factory() as session:
            row = await document_repository.latest(session, self.project_id, stage)
        return Document(row.version, row.content) if row is not None else None

    async def version(self, stage: DocumentType, number: int) -> Document:
        async with self.resources.session_factory() as session:
            row = await document_repository.get_version(session, self.project_id, stage, number)
        if row is None:
            raise LookupError(f"{stage} v{number}")
        return Document(row.version, row.content)

    async def message_text(self, message_id: UUID) -> str:
        async with self.resources.session_factory() as session:
            message = await session.get(Message, message_id)
        if message is None or message.project_id != self.project_id:
            raise LookupError(message_id)
        return message.content

    async def earlier_documents(self, stage: DocumentType) -> str:
        earlier = STAGE_ORDER[: STAGE_ORDER.index(stage)]
        parts = []
        async with self.resources.session_factory() as session:
            for document_type in earlier:
                row = await document_repository.latest(session, self.project_id, document_type)
                if row is not None:
                    parts.append(_condensed(row.content))
        return "\n\n---\n\n".join(parts) or "(none)"

    async def history(self, expert: AgentSpec) -> str:
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

    async def memory(self, query: str, *, exclude: DocumentType) -> str:
        if not query.strip():
            return "(nothing yet)"
        async with self.resources.session_factory() as session:
            hits = await memory_service.search(
                session, self.resources.memory, self.project_id, query, exclude_document=exclude
            )
        return "\n\n".join(hit.text for hit in hits) or "(nothing yet)"

    async def trace_gaps(self, stage: DocumentType) -> str:
        async with self.resources.session_factory() as session:
            trace = await trace_service.trace(session, self.project_id)
        mine = {node.id for node in trace.nodes if node.document_type is stage}
        lines = [
            f"- {gap.kind.value}: {gap.item}" + (f" → {gap.target}" if gap.target else "")
            for gap in trace.gaps
            if gap.item in mine or _closes(gap.kind, stage)
        ]
        return "\n".join(lines[:_GAPS_SHOWN]) or "(none)"

    async def propagation(self, skip: Sequence[DocumentType]) -> Propagation | None:
        # A unit of work: marks on items that are gone are cleared on the way.
        async with unit_of_work(self.resources) as session:
            return await trace_service.next_propagation(session, self.project_id, skip)

    async def stale_items(self) -> list[str]:
        async with self.resources.session_factory() as session:
            return [mark.item for mark in await trace_service.stale_items(session, self.project_id)]

    # --- applying an outcome ------------------------------------------------------------

    async def apply(self, effects: tuple[Effect, ...], step: Step, carry: Carry) -> Carry:
        """Apply ``effects`` and move the run's cursor to ``step`` in one transaction; returns
        the carry as stored (with the ids the effects made)."""
        async with unit_of_work(self.resources) as session:
            state = await conversation_repository.state(session, self.project_id)
            for effect in effects:
                carry = await self._apply_one(session, state, effect, carry)
            await conversation_repository.save_cursor(
                session, self.project_id, self.run.id, step.value, carry.model_dump(mode="json")
            )
        return carry

    async def save_cursor(self, step: Step, carry: Carry) -> None:
        async with unit_of_work(self.resources) as session:
            await conversation_repository.save_cursor(
                session, self.project_id, self.run.id, step.value, carry.model_dump(mode="json")
            )

    async def _apply_one(
        self, session: AsyncSession, state: ConversationState, effect: Effect, carry: Carry
    ) -> Carry:
        match effect:
            case OpenProject():
                await self._open_project(session, state, effect)
            case GiveFloor():
                await self._give_floor(session, state, effect)
            case PostSection():
                message = await self._post_section(session, effect)
                return carry.model_copy(update={"section_message_id": message.id, "replied": True})
            case IntegrateVersion():
                await self._integrate(session, state, effect)
                return carry
            case PropagateVersion():
                return await self._propagate(session, effect, carry)
            case CompleteStage():
                await complete_stage(
                    session,
                    self.project_id,
                    state,
                    effect.stage,
                    self.run.id,
                    effect.message,
                    effect.payload,
                )
            case OpenStage():
                await open_stage(session, self.project_id, state, effect.stage)
                return carry
            case CorrectLanguage():
                await self._correct_language(session, effect)
            case PostNotice():
                stage = await _current_stage(session, self.project_id)
                await post_text(
                    session,
                    self.project_id,
                    self.run.id,
                    effect.content,
                    stage,
                    error=effect.error,
                    payload=effect.payload or None,
                )
        return carry.model_copy(update={"replied": True})

    async def _correct_language(self, session: AsyncSession, effect: CorrectLanguage) -> None:
        project = await session.get(Project, self.project_id)
        if project is None:
            raise LookupError(self.project_id)
        language = project.language
        if not await self._asked_by_owner(session):
            outcome = "language_owner"
        else:
            try:
                await conversation_language.correct_language(
                    session, self.queue, self.project_id, effect.code
                )
            except LanguageUnknownError:
                outcome = "language_unknown"
            except LanguageLockedError:
                outcome = "language_locked"
            else:
                outcome, language = "language_set", effect.code
        stage = await _current_stage(session, self.project_id)
        await post_text(
            session,
            self.project_id,
            self.run.id,
            notices.notice(outcome, language, code=effect.code, current=language),
            stage,
            error=outcome != "language_set",
            payload={
                "code": outcome,
                "language": language,
                "notice_language": notices.notice_language(language),
            },
        )

    async def _asked_by_owner(self, session: AsyncSession) -> bool:
        message = await session.get(Message, self.run.message_id)
        if message is None or message.author_user_id is None:
            return False
        membership = await project_repository.get_membership(
            session, self.project_id, message.author_user_id
        )
        return membership is not None and membership[1] == ProjectRole.OWNER

    async def _open_project(
        self, session: AsyncSession, state: ConversationState, effect: OpenProject
    ) -> None:
        # Runs of a project take turns, so nobody else locks it meanwhile; should anyone have,
        # their choice stands and the agents follow the project's language from the next call.
        await stage_transitions.lock_language(session, self.project_id, effect.language)
        await post_text(session, self.project_id, self.run.id, effect.greeting, DocumentType.IDEA)
        await stage_transitions.mark_stage_in_progress(session, self.project_id, DocumentType.IDEA)
        written = await document_service.append_version(
            session,
            self.project_id,
            DocumentType.IDEA,
            expected_version=0,
            content=effect.idea,
            reason="the raw idea, restructured",
            author_agent=PRODUCT_MANAGER.name.value,
            source_message_ids=[effect.source_message_id],
        )
        self._index_version(session, DocumentType.IDEA, written.version.version)
        state.phase = Phase.AWAITING_FLOOR
        state.turns, state.spoken, state.stage_base_version = 0, [], 0

    async def _give_floor(
        self, session: AsyncSession, state: ConversationState, effect: GiveFloor
    ) -> None:
        stage = await _current_stage(session, self.project_id)
        questions = [question.model_dump() for question in effect.questions]
        defer_event(
            session,
            events.AgentFloor(
                project_id=self.project_id,
                run_id=self.run.id,
                agent=effect.expert.name.value,
                stage=stage.value,
                reason=effect.reason,
            ),
        )
        posted = await message_repository.add(
            session,
            self.project_id,
            role=MessageRole.AGENT,
            kind=MessageKind.QUESTIONS,
            content=questions_text(effect.questions),
            author_agent=effect.expert.name.value,
            stage=stage.value,
            payload={"questions": questions},
        )
        state.phase = Phase.AWAITING_ANSWERS
        state.floor_agent = effect.expert.name.value
        state.pending_questions = questions
        state.questions_message_id = posted.id
        defer_event(
            session,
            events.ExpertQuestions(
                project_id=self.project_id,
                run_id=self.run.id,
                agent=effect.expert.name.value,
                message_id=posted.id,
                questions=[events.Question.model_validate(item) for item in questions],
            ),
        )

    async def _post_section(self, session: AsyncSession, effect: PostSection) -> Message:
        stage = await _current_stage(session, self.project_id)
        message = await message_repository.add(
            session,
            self.project_id,
            role=MessageRole.AGENT,
            kind=MessageKind.SECTION,
            content=effect.text,
            author_agent=effect.expert.name.value,
            stage=stage.value,
            payload={"selections": effect.selections, "free_text": effect.free_text},
        )
        defer_event(
            session,
            events.ExpertSection(
                project_id=self.project_id,
                run_id=self.run.id,
                agent=effect.expert.name.value,
                message_id=message.id,
                title=_title(effect.text, effect.expert),
                content=effect.text,
            ),
        )
        after_commit(
            session,
            partial(
                memory_jobs.enqueue_section,
                self.queue,
                self.project_id,
                stage,
                effect.expert.name.value,
                message.id,
                effect.text,
            ),
        )
        return message

    async def _integrate(
        self, session: AsyncSession, state: ConversationState, effect: IntegrateVersion
    ) -> None:
        written = await self._write_version(
            session,
            effect.stage,
            effect.expected_version,
            effect.content,
            effect.reason,
            sources=effect.sources,
        )
        if written.stale:
            await announce_stale(
                session, self.project_id, effect.stage, written.version.version, written.stale
            )
        state.turns += 1
        state.spoken = [*state.spoken, effect.expert.name.value]
        _clear_floor(state, Phase.AWAITING_FLOOR)

    async def _propagate(
        self, session: AsyncSession, effect: PropagateVersion, carry: Carry
    ) -> Carry:
        # What this version changes in turn is not announced: the same /update goes on to the
        # documents after it.
        written = await self._write_version(
            session,
            effect.stage,
            effect.expected_version,
            effect.content,
            effect.reason,
            sources=(self.run.message_id,) if self.run.message_id else (),
            answers=effect.answers,
        )
        label = f"{effect.stage.value} v{written.version.version}"
        return carry.model_copy(
            update={
                "propagated": [*carry.propagated, label],
                "visited": [*carry.visited, effect.stage],
            }
        )

    async def _write_version(
        self,
        session: AsyncSession,
        stage: DocumentType,
        expected_version: int,
        content: str,
        reason: str,
        *,
        sources: Sequence[UUID],
        answers: Sequence[str] = (),
    ) -> WrittenVersion:
        """A version the team wrote (the PM integrates every one), indexed once committed."""
        written = await document_service.append_version(
            session,
            self.project_id,
            stage,
            expected_version=expected_version,
            content=content,
            reason=reason[:_REASON_CHARS],
            author_agent=PRODUCT_MANAGER.name.value,
            source_message_ids=list(sources),
            answers=answers,
        )
        self._index_version(session, stage, written.version.version)
        return written

    def _index_version(self, session: AsyncSession, stage: DocumentType, version: int) -> None:
        after_commit(
            session,
            partial(memory_jobs.enqueue_version, self.queue, self.project_id, stage, version),
        )


# --- transitions shared with the API (conversation.service) ---------------------------------


def _clear_floor(state: ConversationState, phase: Phase) -> None:
    state.phase = phase
    state.floor_agent = None
    state.pending_questions = None
    state.questions_message_id = None


async def open_stage(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    state: ConversationState,
    stage: DocumentType,
) -> None:
    """(Re-)open ``stage``: it becomes current and in progress, nobody has the floor, and it
    counts as written only once its document gets a version after this."""
    project = await session.get(Project, project_id, with_for_update=True)
    if project is None:
        raise LookupError(project_id)
    row = await stage_transitions.stage_row(session, project_id, stage, lock=True)
    stage_transitions.open_stage(project, row)
    latest = await document_repository.latest(session, project_id, stage)
    state.turns, state.spoken = 0, []
    state.stage_base_version = latest.version if latest else 0
    _clear_floor(state, Phase.AWAITING_FLOOR)


async def stage_written(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    state: ConversationState,
    stage: DocumentType,
) -> bool:
    latest = await document_repository.latest(session, project_id, stage)
    current = await _current_stage(session, project_id)
    base = state.stage_base_version if stage is current else 0
    return (latest.version if latest else 0) > base


async def complete_stage(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    state: ConversationState,
    stage: DocumentType,
    run_id: UUID | None,
    message: str,
    payload: dict[str, Any],
) -> None:
    """Close ``stage`` with the Product Manager's closing message; the caller has checked that
    its document was written in it."""
    await stage_transitions.complete_stage(session, project_id, stage)
    if stage is await _current_stage(session, project_id):
        _clear_floor(state, Phase.STAGE_COMPLETED)
    await post_text(session, project_id, run_id, message, stage, payload=payload)
    following = STAGE_ORDER.index(stage) + 1
    defer_event(
        session,
        events.StageCompleted(
            project_id=project_id,
            stage=stage.value,
            next_stage=STAGE_ORDER[following].value if following < len(STAGE_ORDER) else None,
        ),
    )


async def post_text(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    run_id: UUID | None,
    content: str,
    stage: DocumentType,
    *,
    error: bool = False,
    payload: dict[str, Any] | None = None,
    role: MessageRole = MessageRole.AGENT,
) -> Message:
    """A chat message of the Product Manager (or the system), with its event."""
    agent = PRODUCT_MANAGER.name.value if role is MessageRole.AGENT else None
    kind = MessageKind.ERROR if error else MessageKind.TEXT
    message = await message_repository.add(
        session,
        project_id,
        role=role,
        kind=kind,
        content=content,
        author_agent=agent,
        stage=stage.value,
        payload=payload,
    )
    defer_event(
        session,
        events.AgentMessage(
            project_id=project_id,
            run_id=run_id,
            message_id=message.id,
            agent=agent,
            kind=kind.value,
            content=content,
        ),
    )
    return message


async def post_cancelled(
    session: AsyncSession, project_id: AccessibleProjectID, run_id: UUID, stage: DocumentType
) -> Message:
    """A cancelled message still gets its answer: that it was stopped."""
    project = await session.get(Project, project_id)
    language = project.language if project is not None else None
    return await post_text(
        session,
        project_id,
        run_id,
        notices.notice("cancelled", language),
        stage,
        payload={
            "code": "cancelled",
            "run_id": str(run_id),
            "notice_language": notices.notice_language(language),
        },
        role=MessageRole.SYSTEM,
    )


async def _current_stage(session: AsyncSession, project_id: AccessibleProjectID) -> DocumentType:
    project = await session.get(Project, project_id)
    if project is None:
        raise LookupError(project_id)
    return DocumentType(project.current_stage)


def _title(section: str, expert: AgentSpec) -> str:
    for line in section.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip() or expert.role
    return expert.role


def _closes(gap: GapKind, stage: DocumentType) -> bool:
    """Whether items of ``stage`` close a gap of an earlier document's item."""
    if gap is GapKind.UNSERVED_GOAL:
        return stage is DocumentType.SPECS
    return gap is GapKind.UNREALISED_REQUIREMENT and stage in _REALISING


def _condensed(text: str) -> str:
    if len(text) <= _EARLIER_DOCUMENT_CHARS:
        return text
    return text[:_EARLIER_DOCUMENT_CHARS] + "\n\n[… condensed: the rest is omitted]"


async def after_person_version(
    session: AsyncSession,
    queue: Queue,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    version: int,
    stale: Sequence[str],
) -> None:
    """A manual edit or a rollback: indexed into memory like the team's versions (so memory
    never answers from text the user replaced), and what it made stale said in the chat."""
    after_commit(
        session, partial(memory_jobs.enqueue_version, queue, project_id, document_type, version)
    )
    if stale:
        await announce_stale(session, project_id, document_type, version, stale)


async def announce_stale(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    version: int,
    stale: Sequence[str],
) -> None:
    """The Product Manager's message on the items ``version`` of ``document_type`` made stale,
    in the transaction that wrote it."""
    project = await session.get(Project, project_id)
    if project is None:
        raise LookupError(project_id)
    marks = [
        mark
        for mark in await trace_service.stale_items(session, project_id)
        if mark.item in stale
        and mark.cause_document_type is document_type
        and mark.cause_version == version
    ]
    if not marks:
        return
    changed = sorted({item for mark in marks for item in mark.cause_items}, key=id_order)
    items = sorted((mark.item for mark in marks), key=id_order)
    language = project.language
    await post_text(
        session,
        project_id,
        None,
        notices.notice(
            "stale",
            language,
            stage=notices.stage_name(document_type, language),
            version=version,
            changed=", ".join(changed),
            stale=", ".join(items),
        ),
        DocumentType(project.current_stage),
        payload={
            "code": "trace_stale",
            "document_type": document_type.value,
            "version": version,
            "changed": changed,
            "stale": items,
            "notice_language": notices.notice_language(language),
        },
    )
