"""``GET …/trace`` over documents written the way the engine and people write them: ids in the
Markdown, coverage gaps, a person's link to nothing refused, rollbacks, stale marks, isolation."""

from typing import Any

from httpx import AsyncClient

from app.resources import Resources
from tests.factories import auth_headers, create_project, create_user, seed_document, stream_events

IDEA = """# Idea

## Goals
<!-- section:goals_kpis -->
- Sell the night's bread before 9 am
- Bakeries spend under 10 minutes a day on orders
- Reach 50 bakeries in a year
"""
SPECS = """# Specs

## Standards
<!-- section:coding_standards -->
- Orders confirm within a second → G-1
  - Acceptance: p95 under 1 s
- Order list loads in one click → G-2
- Audit trail of every change
"""
ARCHITECTURE = """# Architecture

## Components
<!-- section:components -->
- Order service → R-1
- Audit log writer → R-3

## Trade-offs
<!-- section:trade_offs -->
- PostgreSQL over a document store → C-1, R-1
"""
PLAN = """# Plan

## Tasks
<!-- section:tasks -->
- Build the order endpoint → C-1, R-1
- Write the launch blog post
- Add the audit table → C-2, R-3

## Milestones
<!-- section:milestones -->
- Beta with three bakeries → T-1, T-3
"""


async def seeded(client: AsyncClient, resources: Resources) -> tuple[str, dict[str, str]]:
    headers = auth_headers(resources, await create_user(resources, "trace@example.com"))
    project = await create_project(client, headers)
    for document_type, content in (
        ("idea", IDEA),
        ("specs", SPECS),
        ("architecture", ARCHITECTURE),
        ("plan", PLAN),
    ):
        await seed_document(resources, project["id"], document_type, [content])
    return f"/api/v1/projects/{project['id']}", headers


async def get(client: AsyncClient, url: str, headers: dict[str, str]) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_coverage_on_a_seeded_project_reports_exactly_its_gaps(
    client: AsyncClient, resources: Resources
) -> None:
    base, headers = await seeded(client, resources)
    trace = await get(client, f"{base}/trace", headers)
    assert [(node["id"], node["document_type"], node["section"]) for node in trace["nodes"]] == [
        ("G-1", "idea", "goals_kpis"),
        ("G-2", "idea", "goals_kpis"),
        ("G-3", "idea", "goals_kpis"),
        ("R-1", "specs", "coding_standards"),
        ("R-2", "specs", "coding_standards"),
        ("R-3", "specs", "coding_standards"),
        ("C-1", "architecture", "components"),
        ("C-2", "architecture", "components"),
        ("D-1", "architecture", "trade_offs"),
        ("T-1", "plan", "tasks"),
        ("T-2", "plan", "tasks"),
        ("T-3", "plan", "tasks"),
        ("M-1", "plan", "milestones"),
    ]
    assert trace["gaps"] == [
        {"kind": "unserved_goal", "item": "G-3", "target": None},
        {"kind": "unrealised_requirement", "item": "R-2", "target": None},
        {"kind": "purposeless_task", "item": "T-2", "target": None},
    ]
    assert len(trace["links"]) == 12
    assert {"source": "M-1", "target": "T-3", "retired": False} in trace["links"]
    assert trace["stale"] == []
    assert trace["retired"] == []
    specs = await get(client, f"{base}/documents/specs", headers)
    assert "- **R-1** Orders confirm within a second → G-1\n  - Acceptance" in specs["content"]


async def test_a_person_s_link_to_nothing_is_refused_and_nothing_is_written(
    client: AsyncClient, resources: Resources
) -> None:
    base, headers = await seeded(client, resources)
    specs = await get(client, f"{base}/documents/specs", headers)
    content = specs["content"].replace("→ G-2", "→ G-2, G-8, C-1")
    response = await client.put(
        f"{base}/documents/specs",
        json={"content": content},
        headers={**headers, "If-Match": '"1"'},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_trace_link"
    assert error["details"]["links"] == [
        {"item": "R-2", "target": "G-8", "reason": "no such item"},
        {"item": "R-2", "target": "C-1", "reason": "a requirement cannot serve a component"},
    ]
    assert (await get(client, f"{base}/documents/specs", headers))["version"] == 1


async def test_retiring_a_requirement_marks_what_served_it_and_a_rollback_restores_it(
    client: AsyncClient, resources: Resources
) -> None:
    base, headers = await seeded(client, resources)
    specs = await get(client, f"{base}/documents/specs", headers)
    without_r3 = specs["content"].replace("- **R-3** Audit trail of every change\n", "")
    removed = await client.put(
        f"{base}/documents/specs",
        json={"content": without_r3 + "- Backups every night → G-2\n", "reason": "no audit"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert removed.status_code == 200, removed.text
    assert "- **R-4** Backups every night → G-2" in removed.json()["content"]
    trace = await get(client, f"{base}/trace", headers)
    assert trace["retired"] == ["R-3"]
    assert [
        (mark["item"], mark["cause_items"], mark["cause_version"]) for mark in trace["stale"]
    ] == [
        ("C-2", ["R-3"], 2),
        ("T-3", ["R-3"], 2),
    ]
    assert {"kind": "retired_link", "item": "C-2", "target": "R-3"} in trace["gaps"]
    assert {"source": "T-3", "target": "R-3", "retired": True} in trace["links"]
    [event] = [
        e
        for e in await stream_events(resources, base.rsplit("/", 1)[1])
        if e["type"] == "trace.stale"
    ]
    assert (event["document_type"], event["version"]) == ("specs", 2)
    assert (event["changed"], event["stale"]) == (["R-3"], ["C-2", "T-3"])
    messages = (await get(client, f"{base}/messages?limit=50", headers))["items"]
    offer = messages[-1]
    assert offer["payload"]["code"] == "trace_stale"
    assert offer["payload"]["stale"] == ["C-2", "T-3"]

    rolled = await client.post(
        f"{base}/documents/specs/rollback", json={"version": 1}, headers=headers
    )
    assert rolled.status_code == 201, rolled.text
    trace = await get(client, f"{base}/trace", headers)
    # R-3 is back with its id; R-4 left, and its number is never given again.
    assert trace["retired"] == ["R-4"]
    assert "R-3" in {node["id"] for node in trace["nodes"]}
    assert not any(gap["kind"] == "retired_link" for gap in trace["gaps"])
    # Still stale: the rollback changed R-3 back, which C-2 and T-3 have not caught up with.
    assert [mark["item"] for mark in trace["stale"]] == ["C-2", "T-3"]


async def test_an_edit_that_changes_a_stale_item_answers_its_mark(
    client: AsyncClient, resources: Resources
) -> None:
    base, headers = await seeded(client, resources)
    specs = await get(client, f"{base}/documents/specs", headers)
    await client.put(
        f"{base}/documents/specs",
        json={"content": specs["content"].replace("within a second", "within 300 ms")},
        headers={**headers, "If-Match": '"1"'},
    )
    assert [m["item"] for m in (await get(client, f"{base}/trace", headers))["stale"]] == [
        "C-1",
        "D-1",
        "T-1",
    ]
    architecture = await get(client, f"{base}/documents/architecture", headers)
    edited = await client.put(
        f"{base}/documents/architecture",
        json={"content": architecture["content"].replace("Order service", "Order service (fast)")},
        headers={**headers, "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    # C-1 changed, so its mark is answered (and T-1, which serves C-1, is marked anew); D-1
    # was not touched and stays stale.
    stale = (await get(client, f"{base}/trace", headers))["stale"]
    assert [(mark["item"], mark["cause_document_type"]) for mark in stale] == [
        ("D-1", "specs"),
        ("T-1", "architecture"),
    ]
    assert stale[1]["cause_items"] == ["C-1", "R-1"]


async def test_the_trace_of_another_project_is_not_found(
    client: AsyncClient, resources: Resources
) -> None:
    base, _ = await seeded(client, resources)
    stranger = auth_headers(resources, await create_user(resources, "stranger@example.com"))
    response = await client.get(f"{base}/trace", headers=stranger)
    assert response.status_code == 404
    assert "G-1" not in response.text
