"""The built web app at /: its files, index.html for the app's own pages, the API untouched."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from app.core.web_app import CONTENT_SECURITY_POLICY
from tests.conftest import client_for, make_settings

INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b3c.js"></script>'
INDEX += "</head><body><div id=root>jeex-web-index</div></body></html>"
SCRIPT = "console.log('jeex-web-asset');"
STRICT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def _build(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-1a2b3c.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "secret.txt").write_text("not-for-browsers")
    return dist


@pytest.fixture(scope="module")
async def web(
    tmp_path_factory: pytest.TempPathFactory, endpoints: Endpoints
) -> AsyncIterator[AsyncClient]:
    root = tmp_path_factory.mktemp("web")
    settings = make_settings(root / "data", web_dist_dir=_build(root))
    async with client_for(settings, endpoints) as (http, _):
        yield http


@pytest.fixture(scope="module")
async def unbuilt(
    tmp_path_factory: pytest.TempPathFactory, endpoints: Endpoints
) -> AsyncIterator[AsyncClient]:
    root = tmp_path_factory.mktemp("unbuilt")
    settings = make_settings(root / "data", web_dist_dir=root / "frontend" / "dist")
    async with client_for(settings, endpoints) as (http, _):
        yield http


def test_the_policy_is_the_strict_one() -> None:
    assert CONTENT_SECURITY_POLICY == STRICT_POLICY


async def test_the_root_answers_the_index_revalidated_with_the_strict_policy(
    web: AsyncClient,
) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == STRICT_POLICY
    # Beside the headers every response carries.
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/projects", "/projects/0191/chat", "/sign-in?code=abc"])
async def test_a_page_of_the_app_answers_the_index(web: AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == STRICT_POLICY


async def test_assets_are_cached_for_good(web: AsyncClient) -> None:
    response = await web.get("/assets/app-1a2b3c.js")
    assert response.status_code == 200
    assert response.text == SCRIPT
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-security-policy"] == STRICT_POLICY


async def test_a_missing_asset_is_not_the_index(web: AsyncClient) -> None:
    response = await web.get("/assets/app-0ld.js")
    assert response.status_code == 404
    assert "jeex-web-index" not in response.text


async def test_other_files_of_the_build_are_served_revalidated(web: AsyncClient) -> None:
    response = await web.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "no-cache"


async def test_a_revalidated_index_answers_not_modified(web: AsyncClient) -> None:
    first = await web.get("/")
    again = await web.get("/projects", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_head_of_a_page_has_no_body(web: AsyncClient) -> None:
    response = await web.head("/projects")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-security-policy"] == STRICT_POLICY


async def test_nothing_outside_the_build_is_reachable(web: AsyncClient) -> None:
    for path in ("/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        response = await web.get(path)
        assert "not-for-browsers" not in response.text, path


@pytest.mark.parametrize(
    "path",
    [
        "/api",
        "/api/v1/no-such-route",
        "/api/v2/projects",
        "/health/nothing",
        "/docs/nothing",
        "/redoc/nothing",
        "/openapi.json/x",
        "/mcp/sse",
    ],
)
async def test_server_paths_keep_their_json_404(web: AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "content-security-policy" not in response.headers


async def test_other_methods_are_not_the_app(web: AsyncClient) -> None:
    unknown = await web.post("/projects", json={})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    wrong_method = await web.delete("/api/v1/auth/providers")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_the_api_keeps_its_own_headers(web: AsyncClient) -> None:
    response = await web.get("/api/v1/auth/providers")
    assert response.status_code == 200
    assert response.json() == []
    assert "content-security-policy" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"
    docs = await web.get("/docs")
    assert "swagger-ui" in docs.text.lower()
    assert docs.headers["content-security-policy"] != STRICT_POLICY
    assert "sha256-" in docs.headers["content-security-policy"]


async def test_the_app_routes_are_not_in_the_schema(web: AsyncClient) -> None:
    paths = (await web.get("/openapi.json")).json()["paths"]
    assert all(path.startswith(("/api/v1/", "/health/")) for path in paths), sorted(paths)


@pytest.mark.parametrize("path", ["/", "/projects/0191/chat"])
async def test_an_unbuilt_app_says_how_to_build_it(unbuilt: AsyncClient, path: str) -> None:
    response = await unbuilt.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "The web app is not built" in response.text
    assert "npm run build" in response.text
    assert "./scripts/serve" in response.text
    assert response.headers["content-security-policy"] == STRICT_POLICY
    assert response.headers["cache-control"] == "no-store"


async def test_an_unbuilt_app_leaves_the_api_working(unbuilt: AsyncClient) -> None:
    response = await unbuilt.get("/api/v1/auth/local")
    assert response.status_code == 200
    assert response.json() == {"enabled": True}


def test_the_default_build_is_the_checkouts_frontend_dist(tmp_path: Path) -> None:
    checkout = Path(__file__).resolve().parents[3]
    assert make_settings(tmp_path).web_dist_dir == checkout / "frontend" / "dist"


def test_the_build_folder_is_settable_and_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JEEX_WEB_DIST_DIR", "site")
    assert make_settings(tmp_path).web_dist_dir == tmp_path.resolve() / "site"
