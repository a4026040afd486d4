"""``/docs`` (Swagger UI) and ``/redoc`` from assets on this server, never from a CDN.

The pages are served on the origin that holds the refresh cookie, so they load no script the
project has not pinned: Swagger UI and ReDoc come from the ``fastapi-offline`` wheel, whose
version pyproject fixes a floor for, under ``/docs-assets``. Each page carries a
Content-Security-Policy that allows scripts and styles from this origin only (the one inline
script Swagger UI needs is allowed by its hash), so the pages work offline and cannot pull
anything in.
"""

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs-assets"
ASSETS_DIRECTORY = Path(str(files("fastapi_offline") / "static"))

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_COMMON_POLICY = (
    "default-src 'none'",
    "style-src 'self' 'unsafe-inline'",  # both render with inline styles
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",  # the spec, and Swagger UI's "try it out" against this API
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)


def _hashes(html: str) -> str:
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )


def _text(page: HTMLResponse) -> str:
    return bytes(page.body).decode()


def _policy(*directives: str) -> str:
    return "; ".join((*_COMMON_POLICY, *directives))


def install_api_docs(app: FastAPI, *, title: str, openapi_url: str) -> None:
    """Mount the assets and add the three pages (``docs_url``/``redoc_url`` must be None)."""
    swagger = _text(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            # Otherwise Swagger UI shows a badge image from the public validator.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )
    swagger_policy = _policy(f"script-src 'self' {_hashes(swagger)}")
    redoc = _text(
        get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
    )
    # ReDoc builds its search index in a worker made from a blob, and some of its
    # dependencies compile functions at run time; the page runs nothing but that bundle.
    redoc_policy = _policy("script-src 'self' 'unsafe-eval'", "worker-src blob:")
    redirect = _text(get_swagger_ui_oauth2_redirect_html())
    redirect_policy = _policy(f"script-src {_hashes(redirect)}")

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIRECTORY), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False, response_class=HTMLResponse)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger, headers={"Content-Security-Policy": swagger_policy})

    @app.get(REDOC_URL, include_in_schema=False, response_class=HTMLResponse)
    async def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc, headers={"Content-Security-Policy": redoc_policy})

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False, response_class=HTMLResponse)
    async def swagger_ui_redirect() -> HTMLResponse:
        return HTMLResponse(redirect, headers={"Content-Security-Policy": redirect_policy})
