"""What model calls cost and how they failed reaches the run's record, the chat and the
budgets: a refused request explains itself, and failed and streamed calls are counted."""

from httpx import AsyncClient

from app.resources import Resources
from tests.e2e.test_conversation import IDEA, Project, open_project
from tests.factories import stream_events
from tests.llm_double import ScriptedLLMServer, directive

VALIDATION_MESSAGE = "Input should be 'text' or 'json_object'"


async def _budget_used(project: Project) -> tuple[int, int]:
    budgets = await project.get("/budget")
    return budgets["project"]["used"], budgets["user"]["used"]


async def test_a_refused_request_fails_the_run_at_once_with_the_providers_message(
    api: tuple[AsyncClient, Resources], models: ScriptedLLMServer
) -> None:
    client, resources = api
    project = await open_project(client, resources, "refused@example.com")
    script = directive(key="refused-run", fault="500", message=VALIDATION_MESSAGE)

    run = await project.say(f"{IDEA} {script}")

    assert len(models.exchanges("refused-run")) == 1  # not retried
    assert run["status"] == "failed"
    error = run["error"]
    assert error["code"] == "llm_request_rejected"
    assert VALIDATION_MESSAGE in error["message"]
    assert error["details"] == {
        "provider": "openai",
        "model": "scripted-model",
        "status": 500,
        "provider_message": VALIDATION_MESSAGE,
    }
    shown = (await project.messages())[-1]
    assert shown["kind"] == "error"
    assert shown["content"] == error["message"]
    assert shown["payload"]["details"] == error["details"]
    failed = (await stream_events(resources, project.id))[-1]
    assert failed["type"] == "run.failed"
    assert failed["error"]["details"] == error["details"]
    # The failed call is on the run's record, though it cost no tokens.
    assert (run["model_calls"], run["model_requests"]) == (1, 1)


async def test_a_call_whose_answer_failed_validation_is_on_the_runs_record_and_in_the_budget(
    api: tuple[AsyncClient, Resources], models: ScriptedLLMServer
) -> None:
    client, resources = api
    project = await open_project(client, resources, "invalid@example.com")
    script = directive(key="invalid-run", fault="schema-invalid")

    run = await project.say(f"{IDEA} {script}")

    assert run["status"] == "failed", run
    assert run["error"]["code"] == "llm_invalid_output", run
    # The opening is streamed: an answer that arrived whole and invalid ends the call.
    exchanges = models.exchanges("invalid-run")
    assert len(exchanges) == 1
    assert (run["model_calls"], run["model_requests"]) == (1, 1)
    assert run["input_tokens"] == sum(exchange.usage[0] for exchange in exchanges)
    assert run["output_tokens"] == sum(exchange.usage[1] for exchange in exchanges)
    spent = run["input_tokens"] + run["output_tokens"]
    assert await _budget_used(project) == (spent, spent)


async def test_streamed_calls_without_reported_usage_are_counted_and_charged(
    api: tuple[AsyncClient, Resources], models: ScriptedLLMServer
) -> None:
    client, resources = api
    project = await open_project(client, resources, "nousage@example.com")

    run = await project.say(f"{IDEA} {directive(key='no-usage-run', usage=False)}")

    assert run["status"] == "completed", run["error"]
    assert run["model_calls"] == 2  # the streamed opening, then the first questions
    assert run["output_tokens"] > 0
    assert run["estimated_tokens"] == run["input_tokens"] + run["output_tokens"]
    spent = run["input_tokens"] + run["output_tokens"]
    assert await _budget_used(project) == (spent, spent)
