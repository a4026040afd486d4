"""Runs act for their user only while that user may: a run queued by a member who was removed
(or demoted below editor) since is cancelled when claimed, and a running one stops before its
next model call, or at its next heartbeat if a call is in flight; the project's deletion stops
it the same way. Cancelled, with a reason code (``member_removed``,
``member_role_insufficient``), never failed: nothing went wrong, the run lost its mandate."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.conversation.effects import OutputT
from app.conversation.engine import GatewayModels
from app.conversation.roster import AgentSpec
from app.core.config import LLMCallKind
from app.projects import repository as project_repository
from app.projects.models import ROLE_RANK, ProjectRole
from app.projects.scoping import AccessibleProjectID

# Why a run stops short: (error code, message), as the run and its run.failed event carry it.
Refusal = tuple[str, str]
USER_CANCELLED: Refusal = ("cancelled", "The run was cancelled.")
# Posting a message or starting a stage takes an editor; a run runs on its user's behalf only
# while they still could have queued it.
_RUNS_NEED = ProjectRole.EDITOR


class RunAccessEndedError(Exception):
    """The run's user lost the access the run needs while it executed (or the project went)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal[1])
        self.refusal = refusal


async def access_refusal(
    session: AsyncSession, project_id: AccessibleProjectID, user_id: UUID
) -> Refusal | None:
    """None while the run's user may still have it run; else why not."""
    membership = await project_repository.get_membership(session, project_id, user_id)
    if membership is None:
        return ("member_removed", "The run's user is no longer a member of the project.")
    if ROLE_RANK[ProjectRole(membership[1])] < ROLE_RANK[_RUNS_NEED]:
        return ("member_role_insufficient", "The run's user can no longer write to the project.")
    return None


class MembersOnlyModels(GatewayModels):
    """The turn's model calls, each made only once the run's user is found still allowed: a
    member removed (or the project deleted) while the run executes costs no further call."""

    async def _admit(self) -> None:
        async with self.resources.session_factory() as session:
            refusal = await access_refusal(session, self.run.project_id, self.run.user_id)
        if refusal is not None:
            raise RunAccessEndedError(refusal)

    async def generate(
        self,
        agent: AgentSpec,
        language: str | None,
        prompt: str,
        output_type: type[OutputT],
        *,
        kind: LLMCallKind,
    ) -> OutputT:
        await self._admit()
        return await super().generate(agent, language, prompt, output_type, kind=kind)

    async def stream_section(self, agent: AgentSpec, language: str, prompt: str) -> str:
        await self._admit()
        return await super().stream_section(agent, language, prompt)

    async def stream_opening(
        self, language: str | None, prompt: str, output_type: type[OutputT]
    ) -> OutputT:
        await self._admit()
        return await super().stream_opening(language, prompt, output_type)
