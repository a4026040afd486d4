"""Members join by invitation: the same answer for any address, and no project in anyone's list
before they accept it."""

import statistics
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from httpx import AsyncClient
from sqlalchemy import update

from app.projects.models import ProjectInvitation
from app.resources import Resources
from tests.factories import auth_headers, create_project, create_user, invite

P = "/api/v1/projects"
INV = "/api/v1/invitations"
INVITATION_KEYS = {"id", "email", "role", "status", "created_at", "expires_at"}


async def _owner_and_project(
    client: AsyncClient, resources: Resources
) -> tuple[dict[str, str], str]:
    owner = auth_headers(resources, await create_user(resources, "owner@example.com", "Owner"))
    project = await create_project(client, owner, "Invited-to project")
    return owner, str(project["id"])


async def test_known_and_unknown_addresses_get_the_same_answer(
    client: AsyncClient, resources: Resources
) -> None:
    owner, project_id = await _owner_and_project(client, resources)
    await create_user(resources, "known@example.com", "Known Person")
    known = await client.post(
        f"{P}/{project_id}/members",
        json={"email": "Known@Example.com", "role": "editor"},
        headers=owner,
    )
    unknown = await client.post(
        f"{P}/{project_id}/members",
        json={"email": "ghost@example.com", "role": "editor"},
        headers=owner,
    )
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert set(known.json()) == set(unknown.json()) == INVITATION_KEYS
    assert set(known.headers) == set(unknown.headers)
    for body, email in ((known.json(), "known@example.com"), (unknown.json(), "ghost@example.com")):
        assert (body["email"], body["role"], body["status"]) == (email, "editor", "pending")
    assert "Known Person" not in known.text
    expires = datetime.fromisoformat(known.json()["expires_at"])
    created = datetime.fromisoformat(known.json()["created_at"])
    assert abs((expires - created) - timedelta(days=14)) < timedelta(minutes=1)
    listed = (await client.get(f"{P}/{project_id}/invitations", headers=owner)).json()
    assert sorted(item["email"] for item in listed) == ["ghost@example.com", "known@example.com"]


async def test_the_project_appears_only_once_the_invitee_accepts(
    client: AsyncClient, resources: Resources
) -> None:
    owner, project_id = await _owner_and_project(client, resources)
    invitee_id = await create_user(resources, "invitee@example.com", "Invitee")
    invitee = auth_headers(resources, invitee_id)
    invitation = await invite(client, owner, project_id, "invitee@example.com", "viewer")

    assert (await client.get(P, headers=invitee)).json() == []
    before = await client.get(f"{P}/{project_id}", headers=invitee)
    assert before.status_code == 404
    assert before.json()["error"]["code"] == "project_not_found"
    members = (await client.get(f"{P}/{project_id}/members", headers=owner)).json()
    assert [member["email"] for member in members] == ["owner@example.com"]

    received = (await client.get(INV, headers=invitee)).json()
    assert [
        (item["id"], item["project_id"], item["project_name"], item["role"]) for item in received
    ] == [(invitation["id"], project_id, "Invited-to project", "viewer")]
    accepted = await client.post(f"{INV}/{invitation['id']}/accept", headers=invitee)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"

    projects = (await client.get(P, headers=invitee)).json()
    assert [(item["id"], item["role"]) for item in projects] == [(project_id, "viewer")]
    members = (await client.get(f"{P}/{project_id}/members", headers=owner)).json()
    assert [(m["user_id"], m["role"]) for m in members][1:] == [(str(invitee_id), "viewer")]
    assert (await client.get(INV, headers=invitee)).json() == []
    again = await client.post(f"{INV}/{invitation['id']}/accept", headers=invitee)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "invitation_not_found"
    statuses = (await client.get(f"{P}/{project_id}/invitations", headers=owner)).json()
    assert [item["status"] for item in statuses] == ["accepted"]


async def test_an_invitation_waits_for_the_address_to_get_an_account(
    client: AsyncClient, resources: Resources
) -> None:
    owner, project_id = await _owner_and_project(client, resources)
    invitation = await invite(client, owner, project_id, "Later@Example.com", "editor")
    newcomer = auth_headers(resources, await create_user(resources, "later@example.com"))
    received = (await client.get(INV, headers=newcomer)).json()
    assert [item["id"] for item in received] == [invitation["id"]]
    assert (
        await client.post(f"{INV}/{invitation['id']}/accept", headers=newcomer)
    ).status_code == 200
    assert (await client.get(f"{P}/{project_id}", headers=newcomer)).json()["role"] == "editor"


async def test_declining_leaves_the_project_out_of_reach(
    client: AsyncClient, resources: Resources
) -> None:
    owner, project_id = await _owner_and_project(client, resources)
    invitee = auth_headers(resources, await create_user(resources, "no@example.com"))
    invitation = await invite(client, owner, project_id, "no@example.com", "editor")
    declined = await client.post(f"{INV}/{invitation['id']}/decline", headers=invitee)
    assert (declined.status_code, declined.json()["status"]) == (200, "declined")
    assert (
        await client.post(f"{INV}/{invitation['id']}/accept", headers=invitee)
    ).status_code == 404
    assert (await client.get(f"{P}/{project_id}", headers=invitee)).status_code == 404
    assert (await client.get(INV, headers=invitee)).json() == []
    # Inviting again opens a new invitation; the declined one stays on record.
    renewed = await invite(client, owner, project_id, "no@example.com", "viewer")
    assert renewed["id"] != invitation["id"]
    assert [item["id"] for item in (await client.get(INV, headers=invitee)).json()] == [
        renewed["id"]
    ]


async def test_only_the_addressee_can_answer(client: AsyncClient, resources: Resources) -> None:
    owner, project_id = await _owner_and_project(client, resources)
    await create_user(resources, "addressee@example.com")
    invitation = await invite(client, owner, project_id, "addressee@example.com", "owner")
    other = auth_headers(resources, await create_user(resources, "other@example.com"))
    async with resources.session_factory() as session:
        from app.users import repository as user_repository

        no_email = await user_repository.add_profile(
            session, email=None, name="X user", avatar_url=None
        )
        await session.commit()
    anonymous = auth_headers(resources, no_email.id)
    for headers in (other, anonymous, owner):
        assert (await client.get(INV, headers=headers)).json() == []
        for answer in ("accept", "decline"):
            response = await client.post(f"{INV}/{invitation['id']}/{answer}", headers=headers)
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "invitation_not_found"
    assert (await client.get(f"{P}/{project_id}", headers=other)).status_code == 404
    still = (await client.get(f"{P}/{project_id}/invitations", headers=owner)).json()
    assert [item["status"] for item in still] == ["pending"]


async def test_invitations_expire_and_inviting_again_renews_them(
    client: AsyncClient, resources: Resources
) -> None:
    owner, project_id = await _owner_and_project(client, resources)
    invitee = auth_headers(resources, await create_user(resources, "late@example.com"))
    invitation = await invite(client, owner, project_id, "late@example.com", "viewer")
    async with resources.session_factory() as session:
        await session.execute(
            update(ProjectInvitation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert (await client.get(INV, headers=invitee)).json() == []
    assert (
        await client.post(f"{INV}/{invitation['id']}/accept", headers=invitee)
    ).status_code == 404
    listed = (await client.get(f"{P}/{project_id}/invitations", headers=owner)).json()
    assert [(item["id"], item["status"]) for item in listed] == [(invitation["id"], "expired")]

    renewed = await invite(client, owner, project_id, "late@example.com", "editor")
    assert (renewed["id"], renewed["status"], renewed["role"]) == (
        invitation["id"],
        "pending",
        "editor",
    )
    assert datetime.fromisoformat(renewed["expires_at"]) > datetime.now(UTC) + timedelta(days=13)
    assert (
        await client.post(f"{INV}/{invitation['id']}/accept", headers=invitee)
    ).status_code == 200
    assert (await client.get(f"{P}/{project_id}", headers=invitee)).json()["role"] == "editor"


async def test_an_owner_can_withdraw_an_invitation(
    client: AsyncClient, resources: Resources
) -> None:
    owner, project_id = await _owner_and_project(client, resources)
    invitee = auth_headers(resources, await create_user(resources, "maybe@example.com"))
    invitation = await invite(client, owner, project_id, "maybe@example.com", "viewer")
    path = f"{P}/{project_id}/invitations/{invitation['id']}"
    assert (await client.delete(path, headers=owner)).status_code == 204
    assert (await client.get(INV, headers=invitee)).json() == []
    assert (
        await client.post(f"{INV}/{invitation['id']}/accept", headers=invitee)
    ).status_code == 404
    gone = await client.delete(path, headers=owner)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "invitation_not_found")
    assert (await client.get(f"{P}/{project_id}/invitations", headers=owner)).json() == []
    # Another project's owner cannot reach it through their own project either.
    other_owner = auth_headers(resources, await create_user(resources, "rival@example.com"))
    other = await create_project(client, other_owner, "Rival")
    fresh = await invite(client, owner, project_id, "maybe@example.com", "viewer")
    crossed = await client.delete(
        f"{P}/{other['id']}/invitations/{fresh['id']}", headers=other_owner
    )
    assert crossed.status_code == 404
    assert [item["id"] for item in (await client.get(INV, headers=invitee)).json()] == [fresh["id"]]


async def test_known_and_unknown_addresses_take_the_same_time(
    client: AsyncClient, resources: Resources
) -> None:
    """30 invitations of each kind, alternating (so load on the machine hits both alike);
    the medians must agree within 25 % or 5 ms, whichever is larger."""
    owner, project_id = await _owner_and_project(client, resources)
    rounds = 30
    for index in range(rounds):
        await create_user(resources, f"known-{index}@example.com", f"Known {index}")
    durations: dict[str, list[float]] = {"known": [], "unknown": []}
    for index in range(rounds):
        order = ("known", "unknown") if index % 2 == 0 else ("unknown", "known")
        for kind in order:
            email = f"{kind}-{index}@example.com"
            started = time.perf_counter()
            response = await client.post(
                f"{P}/{project_id}/members", json={"email": email, "role": "viewer"}, headers=owner
            )
            durations[kind].append(time.perf_counter() - started)
            assert response.status_code == 202, response.text
            assert set(response.json()) == INVITATION_KEYS
    known, unknown = (statistics.median(durations[kind]) for kind in ("known", "unknown"))
    bound = max(0.25 * min(known, unknown), 0.005)
    print(f"invite median: known {known * 1000:.2f} ms, unknown {unknown * 1000:.2f} ms")
    assert abs(known - unknown) < bound, (known, unknown)
    assert UUID(project_id)
