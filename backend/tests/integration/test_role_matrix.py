"""Every project route, taken from the app's own route table, against every kind of caller.

A route with a ``{project_id}`` that declares no role guard fails here, so no new route can
slip past access control unnoticed.
"""

from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from httpx import AsyncClient
from sse_starlette import EventSourceResponse

from app.projects.models import ROLE_RANK, ProjectRole
from app.resources import Resources
from tests.conftest import BASE_URL
from tests.factories import (
    add_member,
    auth_headers,
    create_project,
    create_user,
    invite,
    seed_document,
    seed_export,
    seed_run,
)
from tests.routes import api_routes, methods
from tests.support.asgi_stream import StreamingASGITransport

DENIED = {401, 403, 404}
PROJECT = "/api/v1/projects/{project_id}"

# The access policy, written down independently of the code that enforces it: who may do what.
# Every project route of the app must appear here, so a new route fails until it is classified.
POLICY: dict[tuple[str, str], ProjectRole] = {
    ("GET", PROJECT): ProjectRole.VIEWER,
    ("PATCH", PROJECT): ProjectRole.OWNER,
    ("DELETE", PROJECT): ProjectRole.OWNER,
    ("GET", f"{PROJECT}/members"): ProjectRole.VIEWER,
    ("POST", f"{PROJECT}/members"): ProjectRole.OWNER,
    ("PATCH", f"{PROJECT}/members/{{user_id}}"): ProjectRole.OWNER,
    # Removing someone else; leaving (removing oneself) is open to every member.
    ("DELETE", f"{PROJECT}/members/{{user_id}}"): ProjectRole.OWNER,
    # Invitations name e-mail addresses: for owners only, as inviting is.
    ("GET", f"{PROJECT}/invitations"): ProjectRole.OWNER,
    ("DELETE", f"{PROJECT}/invitations/{{invitation_id}}"): ProjectRole.OWNER,
    ("GET", f"{PROJECT}/progress"): ProjectRole.VIEWER,
    ("POST", f"{PROJECT}/messages"): ProjectRole.EDITOR,
    ("GET", f"{PROJECT}/runs/{{run_id}}"): ProjectRole.VIEWER,
    ("POST", f"{PROJECT}/runs/{{run_id}}/cancel"): ProjectRole.EDITOR,
    ("POST", f"{PROJECT}/stages/{{stage}}/start"): ProjectRole.EDITOR,
    ("POST", f"{PROJECT}/stages/{{stage}}/complete"): ProjectRole.EDITOR,
    ("GET", f"{PROJECT}/messages"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/documents"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/trace"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/documents/{{document_type}}"): ProjectRole.VIEWER,
    ("PUT", f"{PROJECT}/documents/{{document_type}}"): ProjectRole.EDITOR,
    ("GET", f"{PROJECT}/documents/{{document_type}}/versions"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/documents/{{document_type}}/versions/{{version}}"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/documents/{{document_type}}/diff"): ProjectRole.VIEWER,
    ("POST", f"{PROJECT}/documents/{{document_type}}/rollback"): ProjectRole.EDITOR,
    ("GET", f"{PROJECT}/documents/{{document_type}}/preview"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/documents/{{document_type}}/quality"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/events"): ProjectRole.VIEWER,
    ("POST", f"{PROJECT}/events/ticket"): ProjectRole.VIEWER,
    ("POST", f"{PROJECT}/exports"): ProjectRole.EDITOR,
    ("GET", f"{PROJECT}/exports"): ProjectRole.VIEWER,
    ("DELETE", f"{PROJECT}/exports/{{export_id}}"): ProjectRole.EDITOR,
    # Downloading is open to every member, as reading the documents is.
    ("GET", f"{PROJECT}/exports/{{export_id}}"): ProjectRole.VIEWER,
    ("GET", f"{PROJECT}/exports/{{export_id}}/download"): ProjectRole.VIEWER,
    # Every member sees the budgets; only an owner starts the project's budget again.
    ("GET", f"{PROJECT}/budget"): ProjectRole.VIEWER,
    ("POST", f"{PROJECT}/budget/reset"): ProjectRole.OWNER,
    # Correcting the detected language is an owner's decision.
    ("PUT", f"{PROJECT}/language"): ProjectRole.OWNER,
}


def _minimum_role(dependant: Dependant) -> ProjectRole | None:
    for dependency in dependant.dependencies:
        declared = getattr(dependency.call, "minimum_role", None)
        if declared is not None:
            return ProjectRole(declared)
        found = _minimum_role(dependency)
        if found is not None:
            return found
    return None


def _project_routes(app: FastAPI) -> list[tuple[str, str, ProjectRole | None]]:
    return [
        (method, path, _minimum_role(route.dependant))
        for path, route in api_routes(app)
        if "{project_id}" in path
        for method in methods(route)
    ]


def test_every_project_route_declares_a_role(app: FastAPI) -> None:
    routes = _project_routes(app)
    assert [(method, path) for method, path, role in routes if role is None] == []


def test_the_policy_covers_exactly_the_apps_project_routes(app: FastAPI) -> None:
    assert {(method, path) for method, path, _ in _project_routes(app)} == set(POLICY)


def test_each_route_declares_the_role_the_policy_asks_for(app: FastAPI) -> None:
    declared = {(method, path): role for method, path, role in _project_routes(app)}
    assert {key: declared.get(key) for key in POLICY} == POLICY


def _streaming_paths(app: FastAPI) -> set[str]:
    return {
        path
        for path, route in api_routes(app)
        if isinstance(route.response_class, type)
        and issubclass(route.response_class, EventSourceResponse)
    }


async def _call(
    client: AsyncClient, method: str, path: str, headers: dict[str, str], *, stream: bool
) -> tuple[int, Any]:
    body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    request = client.build_request(
        method, path, json=body, params={"from": 1, "to": 2}, headers=headers
    )
    if not stream:
        response = await client.send(request)
        return response.status_code, response.text
    # An event stream never ends: its status is the answer; a refusal still has a JSON body.
    response = await client.send(request, stream=True)
    try:
        return response.status_code, "" if response.is_success else (
            await response.aread()
        ).decode()
    finally:
        await response.aclose()


def _expected_allowed(role: ProjectRole, minimum: ProjectRole) -> bool:
    return ROLE_RANK[role] >= ROLE_RANK[minimum]


async def test_role_matrix(app: FastAPI, client: AsyncClient, resources: Resources) -> None:
    async with AsyncClient(transport=StreamingASGITransport(app), base_url=BASE_URL) as streams:
        await _check_every_route(app, client, streams, resources)


async def _check_every_route(
    app: FastAPI, client: AsyncClient, stream_client: AsyncClient, resources: Resources
) -> None:
    users = {
        name: await create_user(resources, f"{name}@example.com")
        for name in ("owner", "editor", "viewer", "target", "stranger")
    }
    headers = {name: auth_headers(resources, user_id) for name, user_id in users.items()}
    streaming = _streaming_paths(app)
    failures: list[str] = []
    for (method, template), minimum in POLICY.items():
        project = await create_project(client, headers["owner"], name=f"{method} {template}")
        for name, role in (("editor", "editor"), ("viewer", "viewer"), ("target", "viewer")):
            await add_member(
                client, resources, headers["owner"], project["id"], f"{name}@example.com", role
            )
        await seed_document(resources, project["id"], "idea", ["# one", "# two"])
        run_id = await seed_run(resources, project["id"], users["owner"])
        for caller in ("stranger", "viewer", "editor", "owner"):
            # Each caller gets an export of its own: one allowed to delete it leaves the next
            # nothing to be checked against.
            export_id = await seed_export(resources, project["id"], users["owner"])
            # And an invitation of its own, for the same reason.
            invitation_id = (
                UUID(
                    (
                        await invite(
                            client, headers["owner"], project["id"], f"{caller}@x.org", "viewer"
                        )
                    )["id"]
                )
                if "{invitation_id}" in template
                else run_id
            )
            path = _fill(
                template,
                project_id=UUID(str(project["id"])),
                user_id=users["target"],
                run_id=run_id,
                export_id=export_id,
                invitation_id=invitation_id,
            )
            status, text = await _call(
                stream_client if template in streaming else client,
                method,
                path,
                headers[caller],
                stream=template in streaming,
            )
            if caller == "stranger":
                ok = status == 404 and "project_not_found" in text
            elif _expected_allowed(ProjectRole(caller), minimum):
                ok = status not in DENIED
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{method} {template} as {caller}: {status} {text[:120]}")
    assert failures == []


def _fill(
    template: str,
    *,
    project_id: UUID,
    user_id: UUID,
    run_id: UUID,
    export_id: UUID,
    invitation_id: UUID,
) -> str:
    values = {
        "project_id": str(project_id),
        "user_id": str(user_id),
        "run_id": str(run_id),
        "export_id": str(export_id),
        "invitation_id": str(invitation_id),
        "document_type": "idea",
        "stage": "specs",
        "version": "1",
    }
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    if "{" in path:
        pytest.fail(f"the matrix does not know how to fill {template}; teach _fill")
    return path
