"""The built web app (``frontend/dist``) at ``/``: its files, and ``index.html`` for every other
page path, so that the single-page app's own routes (``/projects/…``) load it too.

It answers only what no route claimed (the router's default handler), and only GET and HEAD
of paths outside the API's: ``/api/…`` and the other server paths keep their JSON 404, and a
wrong method on a route keeps its 405. Files under ``/assets/`` carry a content hash in their
names, so they are cached for a year; ``index.html`` is revalidated on every load, so a new
build is picked up at once. Every page gets a Content-Security-Policy that lets it load
scripts, styles, fonts and data from this origin only (no inline script).
"""

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
ASSETS_PREFIX = "assets/"
# Paths of the server itself: a miss under them is the API's 404, never the app.
SERVER_PATHS = ("/api", "/health", "/docs", "/docs-assets", "/redoc", "/openapi.json", "/mcp")

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>JEEX Idea: web app not built</title></head>
<body><h1>The web app is not built</h1>
<p>{reason}</p>
<p>Run <code>./scripts/serve</code>, which builds it when its sources change, or build it by
hand: <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>. The API is up:
see <a href="/docs">/docs</a>.</p></body></html>
"""


def is_server_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in SERVER_PATHS)


class WebApp:
    """The router's default handler: the web app where it applies, ``fallback`` elsewhere."""

    def __init__(self, dist_dir: Path | None, fallback: ASGIApp) -> None:
        self.fallback = fallback
        self._files = (
            StaticFiles(directory=dist_dir, check_dir=False) if dist_dir is not None else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in {"GET", "HEAD"}
            or is_server_path(scope["path"])
        ):
            await self.fallback(scope, receive, send)
            return
        response = await self._respond(scope)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        await response(scope, receive, send)

    async def _respond(self, scope: Scope) -> Response:
        if self._files is None:
            return self._not_built(
                "JEEX_WEB_DIST_DIR is not set, and the backend does not run from a checkout "
                "with a frontend/ folder."
            )
        relative = scope["path"].lstrip("/")
        if relative:
            found = await self._file(scope, relative)
            if found is not None:
                found.headers["Cache-Control"] = (
                    IMMUTABLE if relative.startswith(ASSETS_PREFIX) else REVALIDATE
                )
                return found
            if relative.startswith(ASSETS_PREFIX):
                # A hashed asset from another build: HTML in its place would only confuse.
                return Response("Not found.", status_code=404, media_type="text/plain")
        index = await self._file(scope, "index.html")
        if index is None:
            return self._not_built("Its folder (JEEX_WEB_DIST_DIR) holds no index.html.")
        index.headers["Cache-Control"] = REVALIDATE
        return index

    async def _file(self, scope: Scope, relative: str) -> Response | None:
        assert self._files is not None
        try:
            return await self._files.get_response(relative, scope)
        except HTTPException:
            return None

    @staticmethod
    def _not_built(reason: str) -> Response:
        return HTMLResponse(
            _NOT_BUILT.format(reason=reason),
            status_code=503,
            headers={"Cache-Control": "no-store", "Retry-After": "30"},
        )
