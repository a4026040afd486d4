"""Helpers for export tests: a project with Russian documents, and the worker's build step."""

from dataclasses import dataclass
from uuid import UUID

from httpx import AsyncClient
from sqlalchemy import text

from app.exports import builder
from app.projects.scoping import AccessibleProjectID
from app.resources import Resources
from tests.factories import auth_headers, create_project, create_user, seed_document

IDEA_V1 = "# Идея: Кофейня\n\nПервый черновик.\n"
IDEA_V2 = (
    "# Идея: Кофейня у дома\n\n<!-- section:summary -->\n"
    "Сеть маленьких кофеен рядом с домом. Второе предложение не попадёт в индекс.\n\n"
    "## Проблема\n\n- пункт списка\n"
)
SPECS_V1 = "# Спецификация 📋\n\n```\nкод\n```\n\n**Требования** к [MVP](https://x.test) ясны.\n"
PROJECT_NAME = "Мой «кофейный» проект: v2/beta"


@dataclass(frozen=True, slots=True)
class Seeded:
    project_id: str
    headers: dict[str, str]

    def url(self, tail: str = "") -> str:
        return f"/api/v1/projects/{self.project_id}/exports{tail}"


async def seed_russian_project(client: AsyncClient, resources: Resources) -> Seeded:
    owner = await create_user(resources, "owner@example.com")
    headers = auth_headers(resources, owner)
    project = await create_project(client, headers, PROJECT_NAME)
    project_id = str(project["id"])
    # The engine locks the language from the first message; set it as the engine would.
    async with resources.engine.begin() as connection:
        await connection.execute(
            text("UPDATE project SET language = 'ru' WHERE id = :id"), {"id": project_id}
        )
    await seed_document(resources, project_id, "idea", [IDEA_V1, IDEA_V2])
    await seed_document(resources, project_id, "specs", [SPECS_V1])
    return Seeded(project_id=project_id, headers=headers)


async def build(
    resources: Resources, project_id: str, export_id: str, *, last_attempt: bool = True
) -> None:
    """What the worker's job does with the ids the API queued."""
    await builder.build_export(
        resources, AccessibleProjectID(UUID(project_id)), UUID(export_id), last_attempt=last_attempt
    )
