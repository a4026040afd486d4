"""Small builders for test data, and an explicit way to say who the caller is."""

from typing import Any
from uuid import UUID

from httpx import AsyncClient

from app.resources import Resources
from app.users import repository as user_repository


async def create_user(resources: Resources, email: str, name: str | None = None) -> UUID:
    async with resources.session_factory() as session:
        user = await user_repository.add(session, email=email.lower(), name=name)
        await session.commit()
        return user.id


def auth_headers(resources: Resources, user_id: UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {resources.access_tokens.issue(user_id)}"}


async def create_project(
    client: AsyncClient, headers: dict[str, str], name: str = "Idea"
) -> dict[str, object]:
    response = await client.post("/api/v1/projects", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def invite(
    client: AsyncClient, owner_headers: dict[str, str], project_id: object, email: str, role: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/projects/{project_id}/members",
        json={"email": email, "role": role},
        headers=owner_headers,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_member(
    client: AsyncClient,
    resources: Resources,
    owner_headers: dict[str, str],
    project_id: object,
    email: str,
    role: str,
) -> None:
    """Invite the user with ``email`` (who must exist) and accept as them."""
    invitation = await invite(client, owner_headers, project_id, email, role)
    async with resources.session_factory() as session:
        user = await user_repository.get_by_email(session, email.lower())
    assert user is not None, f"no user {email} to accept the invitation"
    response = await client.post(
        f"/api/v1/invitations/{invitation['id']}/accept", headers=auth_headers(resources, user.id)
    )
    assert response.status_code == 200, response.text


async def seed_document(
    resources: Resources,
    project_id: object,
    document_type: str,
    contents: list[str],
    author_agent: str = "pm",
) -> None:
    """Write ``contents`` as consecutive versions, as the conversation engine would."""
    from app.core.db import unit_of_work
    from app.documents import service as document_service
    from app.projects.scoping import AccessibleProjectID
    from app.projects.stages import DocumentType

    scoped = AccessibleProjectID(UUID(str(project_id)))
    # Through a unit of work, as the engine writes: its events are published on commit.
    async with unit_of_work(resources) as session:
        for content in contents:
            current = await document_service.statuses(session, scoped)
            number = next(
                item.active_version or 0 for item in current if item.document_type == document_type
            )
            await document_service.append_version(
                session,
                scoped,
                DocumentType(document_type),
                expected_version=number,
                content=content,
                reason="integration",
                author_agent=author_agent,
            )


async def seed_messages(resources: Resources, project_id: object, texts: list[str]) -> list[UUID]:
    from app.messages import repository as message_repository
    from app.messages.models import MessageKind, MessageRole
    from app.projects.scoping import AccessibleProjectID

    scoped = AccessibleProjectID(UUID(str(project_id)))
    ids = []
    async with resources.session_factory() as session:
        for text in texts:
            message = await message_repository.add(
                session, scoped, role=MessageRole.USER, kind=MessageKind.TEXT, content=text
            )
            ids.append(message.id)
        await session.commit()
    return ids


async def seed_run(resources: Resources, project_id: object, user_id: UUID) -> UUID:
    """A queued run, as a posted message leaves it before a worker takes it."""
    from app.conversation import repository as conversation_repository
    from app.conversation.models import RunKind
    from app.projects.scoping import AccessibleProjectID

    async with resources.session_factory() as session:
        run = await conversation_repository.add_run(
            session,
            AccessibleProjectID(UUID(str(project_id))),
            kind=RunKind.MESSAGE,
            stage="idea",
            user_id=user_id,
            message_id=None,
        )
        await session.commit()
        return run.id


async def seed_export(resources: Resources, project_id: object, user_id: UUID) -> UUID:
    """An export as a request leaves it before a worker builds it (of whatever exists now)."""
    from app.exports import repository as export_repository
    from app.exports.models import Export
    from app.projects.scoping import AccessibleProjectID

    scoped = AccessibleProjectID(UUID(str(project_id)))
    async with resources.session_factory() as session:
        export = Export(
            project_id=scoped,
            requested_by=user_id,
            document_versions={},
            project_name="seeded",
            language=None,
        )
        await export_repository.add(session, scoped, export)
        await session.commit()
        return export.id


async def stream_events(resources: Resources, project_id: object) -> list[dict[str, Any]]:
    """Every event on the project's stream, oldest first, as the JSON clients receive."""
    import json

    from app.events.publisher import ACCESS_CHANGED, stream_key

    entries = await resources.redis.xrange(stream_key(UUID(str(project_id))))
    # Access-change notices share the stream but never reach a client.
    return [
        json.loads(fields[b"data"])
        for _, fields in entries
        if fields[b"type"] != ACCESS_CHANGED.encode()
    ]
