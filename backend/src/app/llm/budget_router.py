"""The token budgets as members see them, and an owner's reset of the project's budget."""

from fastapi import APIRouter

from app.core.deps import RedisDep, SettingsDep
from app.core.errors import error_responses
from app.llm.limits import BudgetState, CallLimits, LimitPolicy
from app.llm.schemas import BudgetRead, BudgetsRead
from app.projects.dependencies import ProjectOwner, ProjectViewer
from app.projects.scoping import ProjectContext

router = APIRouter(prefix="/projects/{project_id}/budget", tags=["budget"])

_SCOPED = error_responses(401, 403, 404)


def _read(state: BudgetState) -> BudgetRead:
    return BudgetRead(used=state.used, limit=state.limit, resets_in_seconds=state.resets_in_seconds)


async def _budgets(limits: CallLimits, context: ProjectContext) -> BudgetsRead:
    return BudgetsRead(
        project=_read(await limits.project_budget(context.project_id)),
        user=_read(await limits.user_budget(context.user_id)),
    )


@router.get("", response_model=BudgetsRead, responses=_SCOPED)
async def get_budget(context: ProjectViewer, redis: RedisDep, settings: SettingsDep) -> BudgetsRead:
    return await _budgets(CallLimits(redis, LimitPolicy.from_settings(settings.llm)), context)


@router.post("/reset", response_model=BudgetsRead, responses=_SCOPED)
async def reset_budget(
    context: ProjectOwner, redis: RedisDep, settings: SettingsDep
) -> BudgetsRead:
    """Start the project's budget again (calls in flight stay counted). Each user's own budget
    starts again only with its window."""
    limits = CallLimits(redis, LimitPolicy.from_settings(settings.llm))
    await limits.reset_project_budget(context.project_id)
    return await _budgets(limits, context)
