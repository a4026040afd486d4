from html.parser import HTMLParser

from httpx import AsyncClient

from app.resources import Resources
from tests.factories import (
    auth_headers,
    create_project,
    create_user,
    seed_document,
    stream_events,
)

IDEA_V1 = "# Idea\n\nA bakery app.\n"
IDEA_V2 = "# Idea\n\nA bakery app for night owls.\n\n## Audience\n\nStudents.\n"


async def _project_with_idea(
    client: AsyncClient, resources: Resources
) -> tuple[str, dict[str, str]]:
    headers = auth_headers(resources, await create_user(resources, "doc@example.com"))
    project = await create_project(client, headers)
    await seed_document(resources, project["id"], "idea", [IDEA_V1])
    return f"/api/v1/projects/{project['id']}/documents", headers


async def test_the_active_version_carries_its_etag_and_provenance(
    client: AsyncClient, resources: Resources
) -> None:
    base, headers = await _project_with_idea(client, resources)
    response = await client.get(f"{base}/idea", headers=headers)
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert (body["version"], body["content"], body["author_agent"]) == (1, IDEA_V1, "pm")
    assert body["parent_version"] is None
    listing = (await client.get(base, headers=headers)).json()
    assert [(d["document_type"], d["active_version"]) for d in listing] == [
        ("idea", 1),
        ("specs", None),
        ("architecture", None),
        ("plan", None),
    ]
    missing = await client.get(f"{base}/specs", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "document_not_found"


async def test_a_manual_edit_needs_the_current_etag(
    client: AsyncClient, resources: Resources
) -> None:
    base, headers = await _project_with_idea(client, resources)
    body = {"content": IDEA_V2, "reason": "tightened the audience"}
    assert (await client.put(f"{base}/idea", json=body, headers=headers)).status_code == 428
    bad = await client.put(f"{base}/idea", json=body, headers={**headers, "If-Match": "W/x"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["loc"] == ["header", "if-match"]
    stale = await client.put(f"{base}/idea", json=body, headers={**headers, "If-Match": '"0"'})
    assert stale.status_code == 412
    assert stale.json()["error"]["details"] == {"current_version": 1}

    saved = await client.put(f"{base}/idea", json=body, headers={**headers, "If-Match": '"1"'})
    assert saved.status_code == 200
    assert saved.headers["etag"] == '"2"'
    assert saved.json()["author_user_id"] is not None
    assert saved.json()["author_agent"] is None
    assert saved.json()["reason"] == "tightened the audience"
    assert saved.json()["parent_version"] == 1
    again = await client.put(f"{base}/idea", json=body, headers={**headers, "If-Match": '"1"'})
    assert again.status_code == 412
    announced = [
        (event["type"], event["version"], event["author_agent"], event["author_user_id"])
        for event in await stream_events(resources, base.split("/")[4])
    ]
    # v1 came from an agent, v2 from the user's edit; the refused edits announced nothing.
    assert announced == [
        ("document.version", 1, "pm", None),
        ("document.version", 2, None, saved.json()["author_user_id"]),
    ]


async def test_rollback_is_a_new_version_with_old_content(
    client: AsyncClient, resources: Resources
) -> None:
    base, headers = await _project_with_idea(client, resources)
    await client.put(
        f"{base}/idea", json={"content": IDEA_V2}, headers={**headers, "If-Match": "1"}
    )
    response = await client.post(
        f"{base}/idea/rollback", json={"version": 1, "reason": "too narrow"}, headers=headers
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["version"], body["content"]) == (3, IDEA_V1)
    assert body["reason"] == "rollback to version 1: too narrow"
    last = (await stream_events(resources, base.split("/")[4]))[-1]
    assert (last["type"], last["version"], last["reason"]) == (
        "document.version",
        3,
        "rollback to version 1: too narrow",
    )
    versions = (await client.get(f"{base}/idea/versions", headers=headers)).json()
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert "content" not in versions[0]
    old = await client.get(f"{base}/idea/versions/2", headers=headers)
    assert old.json()["content"] == IDEA_V2
    assert (await client.get(f"{base}/idea/versions/9", headers=headers)).status_code == 404
    stale = await client.post(
        f"{base}/idea/rollback", json={"version": 1}, headers={**headers, "If-Match": '"2"'}
    )
    assert stale.status_code == 412


async def test_diff_between_two_versions(client: AsyncClient, resources: Resources) -> None:
    base, headers = await _project_with_idea(client, resources)
    await client.put(
        f"{base}/idea", json={"content": IDEA_V2}, headers={**headers, "If-Match": "1"}
    )
    response = await client.get(f"{base}/idea/diff", params={"from": 1, "to": 2}, headers=headers)
    assert response.status_code == 200
    diff = response.json()
    assert "--- idea v1" in diff["unified"]
    assert "+A bakery app for night owls." in diff["unified"]
    added = [
        line["text"] for hunk in diff["hunks"] for line in hunk["lines"] if line["kind"] == "added"
    ]
    assert "Students." in added
    missing = await client.get(f"{base}/idea/diff", params={"from": 1, "to": 7}, headers=headers)
    assert missing.status_code == 404


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)


async def test_the_preview_of_a_hostile_document_runs_nothing(
    client: AsyncClient, resources: Resources
) -> None:
    headers = auth_headers(resources, await create_user(resources, "h@example.com"))
    project = await create_project(client, headers)
    hostile = (
        "# Title\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n"
        '<img src=x onerror="alert(3)">\n\n<a href="JaVaScRiPt:alert(4)" onclick="x()">a</a>\n\n'
        "<iframe src='https://evil.example'></iframe>\n\n```mermaid\ngraph TD; A-->B\n```\n"
    )
    await seed_document(resources, project["id"], "idea", [hostile])
    response = await client.get(
        f"/api/v1/projects/{project['id']}/documents/idea/preview", headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    parser = _Tags()
    parser.feed(response.text)
    assert {"script", "iframe"} & set(parser.tags) == set()
    assert [name for name, _ in parser.attributes if name.startswith("on")] == []
    assert "javascript:" not in response.text.lower()
    assert "<h1" in response.text
    assert 'class="mermaid"' in response.text
    # Cached per version: the second rendering comes from Redis, byte for byte the same.
    again = await client.get(
        f"/api/v1/projects/{project['id']}/documents/idea/preview", headers=headers
    )
    assert again.text == response.text
    assert await resources.redis.exists(f"proj:{project['id']}:doc:idea:v1:preview:cmark1") == 1


async def test_quality_report_for_english_and_russian(
    client: AsyncClient, resources: Resources
) -> None:
    from sqlalchemy import update

    from app.projects.models import Project

    headers = auth_headers(resources, await create_user(resources, "q@example.com"))
    english = await create_project(client, headers, "en")
    russian = await create_project(client, headers, "ru")
    await seed_document(
        resources,
        english["id"],
        "idea",
        [
            "# Idea\n\nThe app helps small bakeries sell bread at night. People order online. "
            "Couriers deliver the bread before morning. The owners see every order. "
            "Each bakery sets its own prices and hours. Customers rate the bread and the "
            "couriers, and the best bakeries appear first in the list."
        ],
    )
    await seed_document(
        resources,
        russian["id"],
        "idea",
        [
            "# Идея\n\nПриложение помогает маленьким пекарням продавать хлеб ночью. "
            "Люди заказывают через сайт. Курьеры доставляют хлеб до утра. "
            "Владельцы видят каждый заказ. Каждая пекарня сама задаёт цены и часы работы. "
            "Покупатели оценивают хлеб и курьеров, и лучшие пекарни стоят первыми в списке."
        ],
    )
    async with resources.session_factory() as session:
        for project, language in ((english, "en"), (russian, "ru")):
            await session.execute(
                update(Project).where(Project.id == project["id"]).values(language=language)
            )
        await session.commit()
    for project, language in ((english, "en"), (russian, "ru")):
        report = (
            await client.get(
                f"/api/v1/projects/{project['id']}/documents/idea/quality", headers=headers
            )
        ).json()
        assert report["readability"]["status"] == "ok", report
        assert report["readability"]["language"] == language
        assert isinstance(report["readability"]["score"], float)
        assert report["word_count"] > 15
        assert report["sections_present"] == 0
        assert report["sections_expected"] > 0
        # The report read the preview's prose and left that preview cached for the preview
        # route: one render serves both.
        preview_key = f"proj:{project['id']}:doc:idea:v1:preview:cmark1"
        cached = await resources.redis.get(preview_key)
        assert cached is not None
        assert "<h1" in cached.decode()


async def test_version_numbers_beyond_the_database_integer_are_refused(
    client: AsyncClient, resources: Resources
) -> None:
    """Found by schemathesis: 2**31 reached PostgreSQL as an int4 and failed with a 500."""
    owner = await create_user(resources, "big@example.com")
    headers = auth_headers(resources, owner)
    project = await create_project(client, headers)
    base = f"/api/v1/projects/{project['id']}/documents/idea"
    too_big = 2**31
    for response in (
        await client.get(f"{base}/versions/{too_big}", headers=headers),
        await client.get(f"{base}/diff", params={"from": 1, "to": too_big}, headers=headers),
        await client.get(f"{base}/preview", params={"version": too_big}, headers=headers),
        await client.post(f"{base}/rollback", json={"version": too_big}, headers=headers),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["type"] == "less_than_equal"
    largest = await client.get(f"{base}/versions/{too_big - 1}", headers=headers)
    assert largest.status_code == 404
