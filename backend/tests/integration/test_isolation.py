"""Strict project isolation, swept over the app's own route table.

User B, a member of another project only, uses project A's ids on every route that has a project
or object id: each answer is a 404 that carries none of A's data. B's own ids mixed with A's object
ids are refused the same way.
"""

from uuid import UUID

from fastapi import FastAPI
from httpx import AsyncClient

from app.resources import Resources
from tests.factories import (
    add_member,
    auth_headers,
    create_project,
    create_user,
    invite,
    seed_document,
    seed_export,
    seed_messages,
    seed_run,
)
from tests.routes import api_routes, methods

SECRETS = (
    "A-SECRET-PROJECT",
    "A-SECRET-DOCUMENT",
    "A-SECRET-REVISION",
    "A-SECRET-MESSAGE",
    "carol-secret@example.com",
    "alice-secret@example.com",
    "dave-secret@example.com",
)

BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("PATCH", "/api/v1/projects/{project_id}"): {"name": "renamed"},
    ("POST", "/api/v1/projects/{project_id}/members"): {
        "email": "bob@example.com",
        "role": "viewer",
    },
    ("PATCH", "/api/v1/projects/{project_id}/members/{user_id}"): {"role": "viewer"},
    ("PUT", "/api/v1/projects/{project_id}/documents/{document_type}"): {"content": "# B"},
    ("POST", "/api/v1/projects/{project_id}/documents/{document_type}/rollback"): {"version": 1},
    ("POST", "/api/v1/projects/{project_id}/messages"): {"content": "B's message"},
}


def _fill(
    path: str, *, project_id: str, user_id: str, run_id: str, export_id: str, invitation_id: str
) -> str:
    filled = (
        path.replace("{project_id}", project_id)
        .replace("{user_id}", user_id)
        .replace("{run_id}", run_id)
        .replace("{export_id}", export_id)
        .replace("{invitation_id}", invitation_id)
        .replace("{stage}", "specs")
        .replace("{document_type}", "idea")
        .replace("{version}", "1")
    )
    assert "{" not in filled, f"teach the isolation sweep how to fill {path}"
    return filled


def _assert_nothing_of_a(text: str, where: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], f"{where} leaked {leaked}"


async def test_no_route_lets_a_stranger_reach_another_project(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    alice = await create_user(resources, "alice-secret@example.com")
    carol = await create_user(resources, "carol-secret@example.com")
    bob = await create_user(resources, "bob@example.com")
    a_headers, b_headers = auth_headers(resources, alice), auth_headers(resources, bob)
    project_a = await create_project(client, a_headers, "A-SECRET-PROJECT")
    await add_member(
        client, resources, a_headers, project_a["id"], "carol-secret@example.com", "editor"
    )
    await seed_document(
        resources, project_a["id"], "idea", ["A-SECRET-DOCUMENT", "A-SECRET-REVISION"]
    )
    await seed_messages(resources, project_a["id"], ["A-SECRET-MESSAGE"])
    a_run = await seed_run(resources, project_a["id"], alice)
    a_export = await seed_export(resources, project_a["id"], alice)
    a_invitation = (
        await invite(client, a_headers, project_a["id"], "dave-secret@example.com", "viewer")
    )["id"]
    project_b = await create_project(client, b_headers, "B project")
    await seed_document(resources, project_b["id"], "idea", ["B doc", "B doc 2"])

    routes = [
        (method, path)
        for path, route in api_routes(app)
        if "{project_id}" in path
        for method in methods(route)
    ]
    assert len(routes) >= 15
    for method, path in routes:
        body = BODIES.get((method, path))
        # A's project id, with A's objects: as if it did not exist.
        url = _fill(
            path,
            project_id=str(project_a["id"]),
            user_id=str(carol),
            run_id=str(a_run),
            export_id=str(a_export),
            invitation_id=str(a_invitation),
        )
        response = await client.request(
            method, url, json=body, params={"from": 1, "to": 2}, headers=b_headers
        )
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        _assert_nothing_of_a(response.text, f"{method} {path}")
        # B's own project, but an object of A's: refused just the same.
        if any(
            name in path for name in ("{user_id}", "{run_id}", "{export_id}", "{invitation_id}")
        ):
            mixed = _fill(
                path,
                project_id=str(project_b["id"]),
                user_id=str(carol),
                run_id=str(a_run),
                export_id=str(a_export),
                invitation_id=str(a_invitation),
            )
            response = await client.request(method, mixed, json=body, headers=b_headers)
            assert response.status_code == 404, f"{method} {path} (mixed): {response.status_code}"
            _assert_nothing_of_a(response.text, f"{method} {path} (mixed)")

    for listing in (
        "/api/v1/projects",
        "/api/v1/auth/me",
        "/api/v1/auth/tokens",
        "/api/v1/invitations",
    ):
        response = await client.get(listing, headers=b_headers)
        assert response.status_code == 200
        _assert_nothing_of_a(response.text, listing)
    diff = await client.get(
        f"/api/v1/projects/{project_b['id']}/documents/idea/diff",
        params={"from": 1, "to": 2},
        headers=b_headers,
    )
    assert diff.status_code == 200
    _assert_nothing_of_a(diff.text, "B's own diff")
    # A is untouched by everything B tried.
    still = await client.get(f"/api/v1/projects/{project_a['id']}", headers=a_headers)
    assert still.json()["name"] == "A-SECRET-PROJECT"
    members = await client.get(f"/api/v1/projects/{project_a['id']}/members", headers=a_headers)
    assert {m["user_id"] for m in members.json()} == {str(alice), str(carol)}
    # B could neither answer A's invitation nor withdraw it.
    answered = await client.post(f"/api/v1/invitations/{a_invitation}/accept", headers=b_headers)
    assert answered.status_code == 404
    invitations = await client.get(
        f"/api/v1/projects/{project_a['id']}/invitations", headers=a_headers
    )
    statuses = {i["email"]: i["status"] for i in invitations.json()}
    assert statuses == {
        "dave-secret@example.com": "pending",
        "carol-secret@example.com": "accepted",
    }
    assert UUID(str(project_a["id"])) != UUID(str(project_b["id"]))
