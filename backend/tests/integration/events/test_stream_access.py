"""Who may subscribe, and with what: bearer tokens, single-use tickets; a bad ticket is 401,
non-members get 404."""

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import httpx

from app.events.schemas import RunCompleted, RunStarted
from app.resources import Resources
from tests.conftest import client_for, make_settings
from tests.integration.events.conftest import Team, open_events


async def test_a_viewer_subscribes_and_receives_the_projects_events(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    async with open_events(stream_client, team.project_id, headers=team.viewer) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        run_id = uuid4()
        event_id = await resources.events.publish(
            RunStarted(project_id=team.project_id, run_id=run_id, message_id=None, stage="idea")
        )
        message = await stream.next_event()
    assert (message.id, message.event) == (event_id, "run.started")
    data = json.loads(message.data)
    assert data["project_id"] == str(team.project_id)
    assert data["run_id"] == str(run_id)


async def test_a_non_member_gets_404_and_no_stream(
    stream_client: httpx.AsyncClient, team: Team
) -> None:
    async with open_events(stream_client, team.project_id, headers=team.stranger) as stream:
        body = await stream.response.aread()
    assert stream.response.status_code == 404
    assert json.loads(body)["error"]["code"] == "project_not_found"


async def test_a_project_that_does_not_exist_looks_the_same(
    stream_client: httpx.AsyncClient, team: Team
) -> None:
    async with open_events(stream_client, uuid4(), headers=team.viewer) as stream:
        await stream.response.aread()
    assert stream.response.status_code == 404


async def test_no_credentials_is_401(stream_client: httpx.AsyncClient, team: Team) -> None:
    async with open_events(stream_client, team.project_id) as stream:
        await stream.response.aread()
    assert stream.response.status_code == 401


async def _ticket(http: httpx.AsyncClient, project_id: object, headers: dict[str, str]) -> str:
    response = await http.post(f"/api/v1/projects/{project_id}/events/ticket", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == 60
    ticket: str = body["ticket"]
    return ticket


async def test_a_ticket_opens_the_stream_without_a_header_once(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    ticket = await _ticket(stream_client, team.project_id, team.viewer)
    async with open_events(stream_client, team.project_id, params={"ticket": ticket}) as stream:
        assert stream.response.status_code == 200
        event_id = await resources.events.publish(
            RunCompleted(project_id=team.project_id, run_id=uuid4())
        )
        assert (await stream.next_event()).id == event_id
    async with open_events(stream_client, team.project_id, params={"ticket": ticket}) as again:
        await again.response.aread()
    assert again.response.status_code == 401


async def test_a_ticket_is_stored_hashed_under_its_projects_keys(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    ticket = await _ticket(stream_client, team.project_id, team.viewer)
    keys = [key.decode() async for key in resources.redis.scan_iter(match="*sse-ticket*")]
    assert len(keys) == 1
    assert keys[0].startswith(f"proj:{team.project_id}:sse-ticket:")
    assert ticket not in keys[0]
    assert 0 < await resources.redis.ttl(keys[0]) <= 60


async def test_a_ticket_for_one_project_does_not_open_another(
    stream_client: httpx.AsyncClient, team: Team
) -> None:
    # The viewer is a member of both projects; the ticket still speaks for one only.
    ticket = await _ticket(stream_client, team.project_id, team.viewer)
    async with open_events(
        stream_client, team.other_project_id, params={"ticket": ticket}
    ) as stream:
        body = await stream.response.aread()
    assert stream.response.status_code == 401
    assert json.loads(body)["error"]["code"] == "invalid_credentials"


async def test_a_made_up_ticket_is_refused(stream_client: httpx.AsyncClient, team: Team) -> None:
    for forged in ("jxt_" + "A" * 43, "not-a-ticket"):
        async with open_events(stream_client, team.project_id, params={"ticket": forged}) as stream:
            await stream.response.aread()
        assert stream.response.status_code == 401


async def test_a_ticket_of_a_removed_member_is_refused(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team
) -> None:
    ticket = await _ticket(stream_client, team.project_id, team.viewer)
    removed = await stream_client.delete(
        f"/api/v1/projects/{team.project_id}/members/{team.viewer_id}", headers=team.owner
    )
    assert removed.status_code == 204
    async with open_events(stream_client, team.project_id, params={"ticket": ticket}) as stream:
        await stream.response.aread()
    assert stream.response.status_code == 404


async def test_a_non_member_gets_no_ticket(stream_client: httpx.AsyncClient, team: Team) -> None:
    response = await stream_client.post(
        f"/api/v1/projects/{team.project_id}/events/ticket", headers=team.stranger
    )
    assert response.status_code == 404


async def test_an_expired_ticket_is_refused(
    stream_client: httpx.AsyncClient, resources: Resources, team: Team, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, events_ticket_ttl_seconds=1)
    async with client_for(settings, resources.endpoints) as (short_lived, its_resources):
        # That app signs with a key of its own data dir.
        viewer = {"Authorization": f"Bearer {its_resources.access_tokens.issue(team.viewer_id)}"}
        response = await short_lived.post(
            f"/api/v1/projects/{team.project_id}/events/ticket", headers=viewer
        )
    assert response.status_code == 200
    assert response.json()["expires_in"] == 1
    await asyncio.sleep(1.2)
    params = {"ticket": response.json()["ticket"]}
    async with open_events(stream_client, team.project_id, params=params) as stream:
        await stream.response.aread()
    assert stream.response.status_code == 401
