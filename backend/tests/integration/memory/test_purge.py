"""A deleted project leaves no point behind."""

from uuid import UUID

from httpx import AsyncClient

from app.memory import service as memory_service
from app.projects import repository as project_repository
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType
from app.resources import Resources
from tests.factories import auth_headers, create_project, create_user, seed_document
from tests.integration.memory.conftest import Memory, hooked_store


async def test_deleting_a_project_purges_its_memory_and_only_its_own(
    client: AsyncClient, resources: Resources
) -> None:
    memory = Memory(resources)
    owner = await create_user(resources, "owner@example.com")
    headers = auth_headers(resources, owner)
    doomed = AccessibleProjectID(UUID(str((await create_project(client, headers))["id"])))
    kept = await memory.project("en")
    async with resources.session_factory() as session:
        project = await project_repository.get_project(session, doomed)
        project.language = "en"
        await session.commit()
    await seed_document(resources, doomed, DocumentType.IDEA, ["# Idea\n\nA bakery app."])
    await memory.index_document(doomed, DocumentType.IDEA, 1)
    await memory.index_section(doomed, "Bread is baked at night.", DocumentType.IDEA)
    await memory.index_section(kept, "Bread is baked at night.", DocumentType.IDEA)
    assert len(await memory.points(doomed)) == 2

    response = await client.delete(f"/api/v1/projects/{doomed}", headers=headers)
    assert response.status_code == 204

    assert await memory.points(doomed) == []
    assert len(await memory.points(kept)) == 1


async def test_a_project_deleted_while_a_section_was_embedded_is_purged_again(
    memory: Memory,
) -> None:
    project = await memory.project("en")

    async def project_is_deleted_and_purged() -> None:
        async with memory.resources.session_factory() as session:
            await project_repository.delete_project(session, project)
            await session.commit()
        await memory_service.purge_project(memory.store, project)

    late = Memory(memory.resources, hooked_store(memory.resources, project_is_deleted_and_purged))
    await late.index_section(project, "Written after the purge.", DocumentType.IDEA)
    assert await memory.points(project) == []


async def test_a_project_deleted_while_its_document_was_embedded_is_purged_again(
    memory: Memory,
) -> None:
    project = await memory.project("en")
    await memory.write_document(project, DocumentType.IDEA, "# Idea\n\nA bakery app.")

    async def project_is_deleted() -> None:
        async with memory.resources.session_factory() as session:
            await project_repository.delete_project(session, project)
            await session.commit()

    late = Memory(memory.resources, hooked_store(memory.resources, project_is_deleted))
    await late.index_document(project, DocumentType.IDEA, 1)
    assert await memory.points(project) == []
