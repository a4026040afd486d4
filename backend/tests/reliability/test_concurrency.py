"""Fifty messages posted to one project at once, with a worker running the conversation."""

import asyncio
import itertools
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select

from app.conversation.models import AgentExecution
from app.core.infrastructure import Endpoints
from tests.conftest import client_for
from tests.e2e.test_conversation import IDEA, conversation_settings, open_project
from tests.llm_double import ScriptedLLMServer

pytestmark = pytest.mark.reliability
COUNT = 50


async def test_fifty_concurrent_messages_are_all_kept_and_run_one_at_a_time(
    tmp_path: Path, endpoints: Endpoints, models: ScriptedLLMServer, clean_state: None
) -> None:
    # Above the caps on waiting runs (tested in tests/integration/test_quotas.py): this test is
    # about fifty at once, all kept, in order.
    settings = conversation_settings(
        tmp_path,
        models,
        worker_concurrency=4,
        quota_queued_runs_per_project=100,
        quota_queued_runs_per_user=100,
    )
    async with client_for(settings, endpoints) as (client, resources):
        project = await open_project(client, resources, "burst@example.com")
        texts = [IDEA] + [f"1.a, 2.b — уточнение {number}" for number in range(1, COUNT)]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{project.base}/messages", json={"content": text}, headers=project.headers
                )
                for text in texts
            )
        )
        assert [response.status_code for response in responses] == [202] * COUNT
        run_ids = [response.json()["run"]["id"] for response in responses]
        finals = [await project.wait(run_id, timeout=300) for run_id in run_ids]
        chat = await project.messages()
        versions = {
            kind: [v["version"] for v in await project.versions(kind)]
            for kind in ("idea", "specs", "architecture", "plan")
        }
        async with resources.session_factory() as session:
            rows = (
                await session.execute(
                    select(AgentExecution)
                    .where(AgentExecution.project_id == UUID(project.id))
                    .order_by(AgentExecution.started_at)
                )
            ).scalars()
            runs = [(row.message_id, row.started_at, row.finished_at) for row in rows]
    statuses = [run["status"] for run in finals]
    print(f"concurrency: {COUNT} messages, runs {dict.fromkeys(statuses)} versions {versions}")
    assert set(statuses) == {"completed"}
    # Every message is stored once, and the runs answered them in the order the chat shows.
    stored = [m for m in chat if m["role"] == "user"]
    assert sorted(m["content"] for m in stored) == sorted(texts)
    by_id = {m["id"]: m["content"] for m in stored}
    assert [by_id[str(message_id)] for message_id, _, _ in runs] == [m["content"] for m in stored]
    # One run at a time, oldest first: each starts after the previous one finished.
    for (_, _, finished), (_, started, _) in itertools.pairwise(runs):
        assert finished is not None
        assert started is not None
        assert started >= finished
    # Versions are contiguous: 1..n, nothing skipped or doubled.
    for numbers in versions.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert versions["idea"]
