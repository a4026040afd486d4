"""/docs and /redoc load nothing from another origin: every script, style and icon they name
is served by the API itself, and their Content-Security-Policy allows nothing else."""

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest
from httpx import AsyncClient

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            if named.get("src"):
                self.urls.append(str(named["src"]))
            else:
                self._in_inline_script = True
                self.inline_scripts.append("")
        elif tag == "link" and named.get("href"):
            self.urls.append(str(named["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png"}),
    ],
)
async def test_a_docs_page_loads_only_assets_served_here(
    client: AsyncClient, page: str, assets: set[str]
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    references = _References()
    references.feed(response.text)
    assert "http" not in response.text.replace("http-equiv", "")  # no absolute URL at all
    assert {url.rpartition("/")[2] for url in references.urls} == assets
    for url in references.urls:
        assert url.startswith("/docs-assets/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rindex(".") :]
        assert asset.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
        assert len(asset.content) > 1000, url

    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]
    for script in references.inline_scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert response.headers["x-frame-options"] == "DENY"


async def test_swagger_ui_reads_the_spec_of_this_api(client: AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assert re.search(r"url: '/openapi\.json'", page)
    assert '"validatorUrl": null' in page  # no badge fetched from the public validator
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "JEEX Idea API"
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert "script-src 'sha256-" in redirect.headers["content-security-policy"]


async def test_the_docs_pages_are_not_part_of_the_spec(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
