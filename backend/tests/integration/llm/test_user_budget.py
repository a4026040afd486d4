"""A user's token budget over all their projects, and the budgets' windows, in the real Redis."""

import asyncio
from uuid import uuid4

from app.llm.exceptions import LLMError, LLMUserBudgetExceededError
from app.llm.limits import budget_key, user_budget_key
from app.llm.schemas import LLMResult
from tests.checks import details_of, reply
from tests.integration.llm.conftest import GatewayFactory, make_call, unique_key
from tests.llm_double import ScriptedLLMServer, directive

RESERVATION = 1_000
WINDOW = 3_600


async def test_a_user_spending_over_their_allowance_across_two_projects_is_refused(
    make_gateway: GatewayFactory, llm_server: ScriptedLLMServer
) -> None:
    gateway = await make_gateway(
        llm_project_token_budget=10 * RESERVATION,
        llm_user_token_budget=3 * RESERVATION,
        llm_call_token_limit=RESERVATION,
        llm_user_concurrency=10,
    )
    user, first, second, key = uuid4(), uuid4(), uuid4(), unique_key("user-budget")
    prompt = f"Go {directive(key=key, delay=0.3)}"
    calls = [make_call(prompt, user_id=user, project_id=(first, second)[n % 2]) for n in range(5)]

    results = await asyncio.gather(
        *(gateway.generate(call, str) for call in calls), return_exceptions=True
    )

    codes = sorted(r.code if isinstance(r, LLMError) else "ok" for r in results)
    assert codes == ["llm_user_budget_exceeded"] * 2 + ["ok"] * 3
    assert len(llm_server.exchanges(key)) == 3
    refusal = next(r for r in results if isinstance(r, LLMUserBudgetExceededError))
    assert refusal.status_code == 429
    assert details_of(refusal)["budget"] == 3 * RESERVATION
    spent = sum(r.usage.total_tokens for r in results if isinstance(r, LLMResult))
    # Both budgets counted every call; the refused calls left nothing reserved on a project.
    assert (await gateway.limits.user_budget(user)).used == spent
    project_fields = [
        set(await reply(gateway.limits.redis.hgetall(budget_key(p)))) for p in (first, second)
    ]
    assert project_fields == [{b"used"}, {b"used"}]
    # Another user of the same projects is not held to this user's allowance.
    await gateway.generate(make_call(f"Go {directive(key=key)}", project_id=first), str)


async def test_budget_keys_expire_with_their_window(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(llm_budget_window_seconds=WINDOW)
    redis = gateway.limits.redis
    call = make_call("Go")
    # A project key from before budgets had windows: no TTL.
    await reply(redis.hset(budget_key(call.project_id), "used", "5"))

    await gateway.generate(call, str)

    for key in (budget_key(call.project_id), user_budget_key(call.user_id)):
        assert 0 < await redis.pttl(key) <= WINDOW * 1000
    state = await gateway.limits.project_budget(call.project_id)
    assert state.used > 5
    assert state.resets_in_seconds is not None
    assert 0 < state.resets_in_seconds <= WINDOW
