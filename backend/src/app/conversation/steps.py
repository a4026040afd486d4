"""The steps of the protocol (see :mod:`app.conversation.protocol` for the table).

Each step is a small function of the :class:`StepContext`: it reads, asks the model for what
code cannot decide, and returns the effects to apply and the step after it. Steps never write;
the engine applies their outcome atomically with the run's cursor.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import cast

from app.conversation import notices, prompts
from app.conversation.contracts import (
    ExpertQuestions,
    IntentKind,
    Opening,
    StageClosing,
    integration_for,
    intent_for,
    propagation_for,
)
from app.conversation.editing import (
    Edit,
    apply_edits,
    replace_sections,
    section_texts,
    split_sections,
    touched_keys,
    unchanged_between,
)
from app.conversation.effects import (
    Carry,
    CompleteStage,
    CorrectLanguage,
    Effect,
    GiveFloor,
    IntegrateVersion,
    Models,
    OpenProject,
    OpenStage,
    Outcome,
    PostNotice,
    PostSection,
    PropagateVersion,
    Reader,
    Snapshot,
)
from app.conversation.parser import describe_valid, parse_reply
from app.conversation.protocol import (
    FOLLOWS,
    Input,
    Phase,
    Step,
    first_step,
    following_stage,
    next_expert,
)
from app.conversation.questions import (
    answers_text,
    from_model,
    questions_text,
    recommendations,
)
from app.conversation.roster import PRODUCT_MANAGER, AgentSpec, agent, experts_of
from app.core.config import LLMCallKind
from app.documents.tracing.items import SERVES, item_kinds
from app.documents.tracing.service import Propagation
from app.projects.stages import DocumentType

# Re-integrations against a version someone else wrote meanwhile, before giving up visibly.
MAX_CONFLICTS = 2

_INTENT_INPUT = {
    IntentKind.ANSWERS: Input.ANSWERS,
    IntentKind.SATISFIED: Input.SATISFIED,
    IntentKind.ADDRESS_EXPERT: Input.ADDRESS,
    IntentKind.ACCEPT_RECOMMENDATIONS: Input.ACCEPT,
    IntentKind.NEXT_STAGE: Input.NEXT,
    IntentKind.OTHER: Input.OTHER,
}


@dataclass(frozen=True, slots=True)
class StepContext:
    snapshot: Snapshot
    carry: Carry
    reader: Reader
    models: Models
    max_turns: int

    @property
    def language(self) -> str:
        if self.snapshot.language is None:
            raise RuntimeError("a stage step ran before the project's language was known")
        return self.snapshot.language


StepFunction = Callable[[StepContext], Awaitable[Outcome]]


# --- classification of free text ------------------------------------------------------------


async def classify(ctx: StepContext) -> Outcome:
    """Free text that code could not place: the model says what it is, code decides the rest.
    A free-text answer is only an answer while questions are open."""
    snapshot = ctx.snapshot
    message = await ctx.reader.user_message()
    intent = await ctx.models.generate(
        PRODUCT_MANAGER,
        ctx.language,
        prompts.render(
            "task_intent.md",
            stage=snapshot.stage.value,
            phase=snapshot.phase.value,
            expert=agent(snapshot.floor).role if snapshot.floor else "(nobody)",
            experts=", ".join(spec.name.value for spec in experts_of(snapshot.stage)),
            questions=questions_text(snapshot.questions) or "(none)",
            message=message.content,
        ),
        intent_for(snapshot.stage),
        kind=LLMCallKind.INTENT,
    )
    given = _INTENT_INPUT[intent.kind]
    expert = cast(str | None, intent.expert)
    if given is Input.ADDRESS and expert is None:
        given = Input.OTHER
    if given is Input.ANSWERS and snapshot.phase is not Phase.AWAITING_ANSWERS:
        given = Input.OTHER
    carry = ctx.carry.model_copy(update={"input": given, "expert": expert, "reply": intent.reply})
    return Outcome(next=first_step(snapshot.phase, given), carry=carry)


# --- the first message ----------------------------------------------------------------------


async def open_project(ctx: StepContext) -> Outcome:
    message = await ctx.reader.user_message()
    opening = await ctx.models.stream_opening(
        ctx.snapshot.language, prompts.render("task_opening.md", message=message.content), Opening
    )
    effect = OpenProject(
        language=opening.language,
        greeting=opening.greeting,
        idea=opening.restructured_idea,
        source_message_id=message.id,
    )
    return Outcome(next=FOLLOWS[Step.OPEN_PROJECT], effects=(effect,))


# --- the floor ------------------------------------------------------------------------------


async def ask(ctx: StepContext) -> Outcome:
    snapshot = ctx.snapshot
    requested = ctx.carry.expert if ctx.carry.input is Input.ADDRESS else None
    expert = next_expert(
        snapshot.stage, snapshot.spoken, requested=requested, holding=snapshot.floor
    )
    document = await ctx.reader.latest(snapshot.stage)
    asked = await ctx.models.generate(
        expert,
        ctx.language,
        prompts.render(
            "task_questions.md",
            stage=snapshot.stage.value,
            sections=", ".join(expert.sections),
            earlier=await ctx.reader.earlier_documents(snapshot.stage),
            document=document.content if document else "(not written yet)",
            history=await ctx.reader.history(expert),
            gaps=await ctx.reader.trace_gaps(snapshot.stage),
        ),
        ExpertQuestions,
        kind=LLMCallKind.QUESTIONS,
    )
    reason = _floor_reason(expert, snapshot, requested)
    effect = GiveFloor(expert=expert, questions=tuple(from_model(asked)), reason=reason)
    return Outcome(next=FOLLOWS[Step.ASK], effects=(effect,))


def item_rules(stage: DocumentType, keys: Sequence[str]) -> str:
    """How the expert's sections that list traceable items write them (ids are the engine's)."""
    kinds = item_kinds(stage)
    lines = []
    for key in keys:
        kind = kinds.get(key)
        if kind is None:
            continue
        serves = sorted(target.value for target in SERVES[kind])
        target = f", then → and the ids it serves ({'/'.join(serves)}-…)" if serves else ""
        lines.append(f"- {key}: each {kind.name.lower()} is a top-level bullet{target}")
    if not lines:
        return "(your sections list no traceable items)"
    return "\n".join(
        [
            *lines,
            "Keep the bold id an item already has (e.g. **R-12**); give new items none (the "
            "engine numbers them); link only to ids the documents show.",
        ]
    )


def _floor_reason(expert: AgentSpec, snapshot: Snapshot, requested: str | None) -> str:
    if requested is not None:
        return "the user asked for this expert"
    if expert.name.value not in snapshot.spoken:
        return "has not spoken in this stage yet"
    return "next in the stage's roster"


# --- an answer ------------------------------------------------------------------------------


async def write_section(ctx: StepContext) -> Outcome:
    snapshot = ctx.snapshot
    if snapshot.floor is None:
        raise RuntimeError("answers without an expert holding the floor")
    expert = agent(snapshot.floor)
    if ctx.carry.input is Input.ACCEPT:
        selections, free_text = recommendations(snapshot.questions), ""
    else:
        selections, free_text = ctx.carry.selections, ctx.carry.free_text
    document = await ctx.reader.latest(snapshot.stage)
    questions = questions_text(snapshot.questions)
    answers = answers_text(snapshot.questions, selections, free_text)
    section = await ctx.models.stream_section(
        expert,
        ctx.language,
        prompts.render(
            "task_section.md",
            stage=snapshot.stage.value,
            markers=", ".join(f"<!-- section:{key} -->" for key in expert.sections),
            items=item_rules(snapshot.stage, expert.sections),
            questions=questions,
            answers=answers,
            document=document.content if document else "(not written yet)",
            earlier=await ctx.reader.earlier_documents(snapshot.stage),
            memory=await ctx.reader.memory(f"{questions}\n{answers}", exclude=snapshot.stage),
        ),
    )
    carry = ctx.carry.model_copy(
        update={
            "expert": expert.name.value,
            "selections": selections,
            "free_text": free_text,
            "based_on_version": document.version if document else 0,
        }
    )
    effect = PostSection(expert=expert, text=section, selections=selections, free_text=free_text)
    return Outcome(next=FOLLOWS[Step.WRITE_SECTION], effects=(effect,), carry=carry)


async def integrate(ctx: StepContext) -> Outcome:
    """The expert's section into the version it was written against; a version written by
    someone else meanwhile is re-based on when it left the touched sections alone, and
    re-integrated against (a bounded number of times) when it did not. Never overwritten."""
    snapshot, carry = ctx.snapshot, ctx.carry
    if carry.expert is None or carry.section_message_id is None or carry.based_on_version is None:
        raise RuntimeError("integrate without the section it integrates")
    expert = agent(carry.expert)
    section = await ctx.reader.message_text(carry.section_message_id)
    base = await _content(ctx, carry.based_on_version)
    latest = await ctx.reader.latest(snapshot.stage)
    latest_version = latest.version if latest else 0
    if carry.edits is None:
        carry = await _ask_for_edits(ctx, expert, base, section)
    edits = [Edit(**item) for item in carry.edits or []]
    if latest is not None and latest_version != carry.based_on_version:
        keys = touched_keys(edits, expert.sections)
        if not unchanged_between(base, latest.content, keys):
            if carry.conflicts >= MAX_CONFLICTS:
                return _conflict_given_up(ctx, expert)
            retry = carry.model_copy(
                update={
                    "based_on_version": latest_version,
                    "edits": None,
                    "conflicts": carry.conflicts + 1,
                }
            )
            return Outcome(next=Step.INTEGRATE, carry=retry)
        base = latest.content
        carry = carry.model_copy(update={"based_on_version": latest_version})
    content = apply_edits(
        base, edits, snapshot.stage, expert_section=section, expert_keys=expert.sections
    )
    sources = tuple(
        source
        for source in (
            snapshot.questions_message_id,
            (await ctx.reader.user_message()).id,
            carry.section_message_id,
        )
        if source is not None
    )
    effect = IntegrateVersion(
        stage=snapshot.stage,
        expected_version=carry.based_on_version or 0,
        content=content,
        reason=f"{expert.name.value}: {carry.summary}",
        sources=sources,
        expert=expert,
    )
    closes = carry.stage_covered or snapshot.turns + 1 >= ctx.max_turns
    return Outcome(next=Step.CLOSE_STAGE if closes else Step.ASK, effects=(effect,), carry=carry)


async def _content(ctx: StepContext, version: int) -> str:
    if version == 0:
        return ""
    return (await ctx.reader.version(ctx.snapshot.stage, version)).content


async def _ask_for_edits(ctx: StepContext, expert: AgentSpec, document: str, section: str) -> Carry:
    stage = ctx.snapshot.stage
    integration = await ctx.models.generate(
        PRODUCT_MANAGER,
        ctx.language,
        prompts.render(
            "task_integration.md",
            expert=expert.role,
            stage=stage.value,
            keys=", ".join(expert.sections),
            document=document or "(not written yet)",
            section=section,
        ),
        integration_for(stage),
        kind=LLMCallKind.INTEGRATION,
    )
    edits = [
        {"op": str(edit.op), "section": str(edit.section), "content": edit.content}
        for edit in integration.edits
    ]
    return ctx.carry.model_copy(
        update={
            "edits": edits,
            "summary": integration.summary,
            "stage_covered": integration.stage_covered,
        }
    )


def _conflict_given_up(ctx: StepContext, expert: AgentSpec) -> Outcome:
    text = notices.notice(
        "conflict", ctx.language, stage=notices.stage_name(ctx.snapshot.stage, ctx.language)
    )
    payload = {
        "code": "integration_conflict",
        "expert": expert.name.value,
        "notice_language": notices.notice_language(ctx.language),
    }
    return Outcome(next=Step.DONE, effects=(PostNotice(text, error=True, payload=payload),))


# --- stages ---------------------------------------------------------------------------------


async def close_stage(ctx: StepContext) -> Outcome:
    """Complete the stage if its document has a version written in it; until then the next
    expert gets the floor, whatever the model or the user said."""
    snapshot = ctx.snapshot
    if not snapshot.stage_written:
        return Outcome(next=Step.ASK, carry=ctx.carry.model_copy(update={"expert": None}))
    document = await ctx.reader.latest(snapshot.stage)
    if document is None:
        raise RuntimeError("a written stage without its document")
    following = following_stage(snapshot.stage)
    headings = section_headings(document.content)
    closing = await ctx.models.generate(
        PRODUCT_MANAGER,
        ctx.language,
        prompts.render(
            "task_closing.md",
            stage=snapshot.stage.value,
            sections="\n".join(f"- {heading}" for heading in headings) or "(none)",
            following=following.value if following else "(none: this was the last stage)",
        ),
        StageClosing,
        kind=LLMCallKind.CLOSING,
    )
    effect = CompleteStage(
        stage=snapshot.stage,
        message=closing.message,
        payload={
            "document_type": snapshot.stage.value,
            "version": document.version,
            "sections": headings,
            "next_stage": following.value if following else None,
        },
    )
    after = Step.OPEN_NEXT_STAGE if ctx.carry.input is Input.NEXT and following else Step.DONE
    return Outcome(next=after, effects=(effect,))


def section_headings(document: str) -> list[str]:
    """The heading of each marked section, as the document writes it (in its language)."""
    headings = []
    for block in split_sections(document):
        if block.key is None:
            continue
        first = block.text.lstrip("\n").splitlines()[0] if block.text.strip() else ""
        title = first.lstrip("#").strip() if first.startswith("#") else block.key
        headings.append(title)
    return headings


async def open_next_stage(ctx: StepContext) -> Outcome:
    following = following_stage(ctx.snapshot.stage)
    if following is None:
        text = notices.notice("all_done", ctx.language)
        payload = {"notice_language": notices.notice_language(ctx.language)}
        return Outcome(next=Step.DONE, effects=(PostNotice(text, payload=payload),))
    return Outcome(next=FOLLOWS[Step.OPEN_NEXT_STAGE], effects=(OpenStage(following),))


# --- change that propagates -----------------------------------------------------------------


async def propagate(ctx: StepContext) -> Outcome:
    """``/update``: the earliest document with stale items gets a version in which only the
    sections of those items are rewritten (by the Product Manager, told what changed); the step
    runs again for the next document, each document once per run, then says what it updated
    and what is still stale. Only the marks of items in sections actually rewritten end."""
    carry = ctx.carry
    brief = await ctx.reader.propagation(carry.visited)
    if brief is None:
        return await _propagation_done(ctx)
    document = await ctx.reader.version(brief.document_type, brief.version)
    current = section_texts(document.content)
    wanted = {stale.section: stale for stale in brief.sections}
    rewrite = await ctx.models.generate(
        PRODUCT_MANAGER,
        ctx.snapshot.language,
        prompts.render(
            "task_propagation.md",
            document_type=brief.document_type.value,
            causes=", ".join(brief.causes),
            changes=_changes_text(brief),
            sections="\n\n".join(
                f"Section {stale.section} (stale: {', '.join(node.id for node in stale.items)}):"
                f"\n<<<\n{current.get(stale.section, '')}\n>>>"
                for stale in brief.sections
            ),
        ),
        propagation_for(brief.document_type),
        kind=LLMCallKind.INTEGRATION,
    )
    rewrites = {
        str(item.section): item.content
        for item in rewrite.sections
        if str(item.section) in wanted and item.content.strip()
    }
    if not rewrites:
        # Nothing usable came back for this document: it stays as it is, still stale, and the
        # closing message says so.
        visited = [*carry.visited, brief.document_type]
        return Outcome(next=Step.PROPAGATE, carry=carry.model_copy(update={"visited": visited}))
    effect = PropagateVersion(
        stage=brief.document_type,
        expected_version=brief.version,
        content=replace_sections(document.content, rewrites, brief.document_type),
        reason=brief.reason(),
        answers=tuple(node.id for key in rewrites for node in wanted[key].items),
    )
    # What it wrote goes into the carry when the version is stored (a conflict runs this again).
    return Outcome(next=Step.PROPAGATE, effects=(effect,))


async def _propagation_done(ctx: StepContext) -> Outcome:
    written = ctx.carry.propagated
    left = await ctx.reader.stale_items()
    language = ctx.snapshot.language
    if left:
        key, code = "still_stale", "trace_still_stale"
    elif written:
        key, code = "propagated", "trace_updated"
    else:
        key, code = "nothing_stale", "trace_clean"
    text = notices.notice(key, language, documents=", ".join(written) or "—", items=", ".join(left))
    payload = {
        "code": code,
        "versions": written,
        "stale": left,
        "notice_language": notices.notice_language(language),
    }
    return Outcome(next=Step.DONE, effects=(PostNotice(text, payload=payload),))


def _changes_text(brief: Propagation) -> str:
    return "\n".join(
        f"- {item}: retired (removed from its document)"
        if text is None
        else f"- {item} now reads: {text}"
        for item, text in brief.changes.items()
    )


# --- answers without an expert turn ---------------------------------------------------------


async def refuse(ctx: StepContext) -> Outcome:
    """A reference to a question or option that does not exist: said in the chat, nothing
    else changes, no model is asked."""
    message = await ctx.reader.user_message()
    specs = [question.spec() for question in ctx.snapshot.questions]
    parsed = parse_reply(message.content, specs)
    invalid = "; ".join(error.message for error in parsed.errors)
    valid = describe_valid(specs)
    text = notices.notice("refusal", ctx.language, invalid=invalid, valid=valid)
    payload = {
        "invalid": invalid,
        "valid": valid,
        "notice_language": notices.notice_language(ctx.language),
    }
    return Outcome(
        next=FOLLOWS[Step.REFUSE], effects=(PostNotice(text, error=True, payload=payload),)
    )


async def reply(ctx: StepContext) -> Outcome:
    """The Product Manager's answer to a message that asks for no step: the model's words when
    it classified the message, else what code knows (the stage is completed, what comes next)."""
    if ctx.carry.reply is not None:
        return Outcome(next=FOLLOWS[Step.REPLY], effects=(PostNotice(ctx.carry.reply),))
    text = notices.stage_done(ctx.snapshot.stage, following_stage(ctx.snapshot.stage), ctx.language)
    payload = {"notice_language": notices.notice_language(ctx.language)}
    return Outcome(next=FOLLOWS[Step.REPLY], effects=(PostNotice(text, payload=payload),))


async def set_language(ctx: StepContext) -> Outcome:
    """``/language <code>``: whether it may change (who asks, what the team wrote) is decided
    where it is written, in the same transaction."""
    if ctx.carry.language is None:
        raise RuntimeError("a language command without its code")
    return Outcome(next=FOLLOWS[Step.SET_LANGUAGE], effects=(CorrectLanguage(ctx.carry.language),))


STEPS: dict[Step, StepFunction] = {
    Step.CLASSIFY: classify,
    Step.OPEN_PROJECT: open_project,
    Step.ASK: ask,
    Step.WRITE_SECTION: write_section,
    Step.INTEGRATE: integrate,
    Step.CLOSE_STAGE: close_stage,
    Step.OPEN_NEXT_STAGE: open_next_stage,
    Step.REFUSE: refuse,
    Step.REPLY: reply,
    Step.SET_LANGUAGE: set_language,
    Step.PROPAGATE: propagate,
}


def effects_reply(effects: tuple[Effect, ...]) -> bool:
    """Whether applying ``effects`` posts a message the user sees."""
    return any(
        not isinstance(effect, IntegrateVersion | PropagateVersion | OpenStage)
        for effect in effects
    )
