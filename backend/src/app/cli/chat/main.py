"""`jeex-idea chat` from start to finish: which server, who signs in, which project, the chat."""

import asyncio
import os
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import typer

from app.auth.schemas import MeRead
from app.cli.chat.auth import Credentials, LocalSession, PersonalToken
from app.cli.chat.client import ChatApi, open_clients
from app.cli.chat.errors import ApiError, ChatError
from app.cli.chat.lines import LineReader
from app.cli.chat.render import Renderer
from app.cli.chat.session import ChatSession, choose_project
from app.cli.common import command_settings, console, errors, fail, run_cli_step
from app.cli.local_sign_in import mint_sign_in_code_now
from app.core import serve_address
from app.core.config import Settings

TOKEN_VARIABLE = "JEEX_TOKEN"
_TOKEN_HINT = "create one with `jeex-idea tokens create --email you@example.com`"
# A wildcard bind address is reached on the loopback interface of the same family.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104


def run_chat(*, url: str | None, project_id: UUID | None, new_name: str | None) -> None:
    if project_id is not None and new_name is not None:
        raise fail("pass --project or --new, not both")

    def step() -> None:
        settings = command_settings()
        server = server_url(settings, url)
        try:
            asyncio.run(chat_main(settings, server, project_id=project_id, new_name=new_name))
        except ChatError as error:
            raise fail(str(error)) from None

    try:
        run_cli_step(step)
    except KeyboardInterrupt:
        errors.print("stopped")
        raise typer.Exit(code=130) from None


def server_url(settings: Settings, url: str | None) -> str:
    """``--url``, or the address of the `serve` running on this data dir."""
    if url is not None:
        return _checked_url(url)
    running = serve_address.running_serve(settings.data_dir)
    if running is None:
        raise fail(
            f"no running `jeex-idea serve` on {settings.data_dir}: start one with "
            "`jeex-idea serve`, or pass --url of the server to chat with"
        )
    host = _LOOPBACK.get(running.host, running.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{running.port}"


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise fail(f"--url must be an http(s) address such as http://127.0.0.1:8000, not {url!r}")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        # A credential in a URL ends up in shell history and process lists.
        raise fail(
            f"--url takes the server's address only; sign in with {TOKEN_VARIABLE}, not the URL"
        )
    return url.rstrip("/")


async def chat_main(
    settings: Settings, url: str, *, project_id: UUID | None, new_name: str | None
) -> None:
    renderer = Renderer(console)
    http, public = open_clients(url)
    async with http, public:
        credentials = await _sign_in(settings, public)
        try:
            api = ChatApi(http, credentials)
            me = await _whoami(api, credentials)
            renderer.info(f"signed in as {me.email or me.name or me.id} at {url}")
            lines = LineReader(asyncio.get_running_loop())
            lines.start()
            project = await choose_project(
                api, renderer, lines, project_id=project_id, new_name=new_name
            )
            if project is not None:
                await ChatSession(api, renderer, lines, me, project).run()
        finally:
            await credentials.close()
    renderer.info("bye")


async def _sign_in(settings: Settings, public: httpx.AsyncClient) -> Credentials:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if token:
        return PersonalToken(token)
    if not settings.auth.local_sign_in:
        raise ChatError(
            f"set {TOKEN_VARIABLE} to a personal access token ({_TOKEN_HINT}): local sign-in "
            f"works only in development, and this runs with "
            f"JEEX_ENVIRONMENT={settings.environment.value}"
        )
    session = LocalSession(public, lambda: asyncio.to_thread(mint_sign_in_code_now, settings))
    try:
        await session.sign_in()
    except ApiError as error:
        raise ChatError(
            f"the server did not accept a local sign-in from {settings.data_dir} ({error.line()}); "
            f"is it the server of this data dir? Otherwise set {TOKEN_VARIABLE} ({_TOKEN_HINT})"
        ) from None
    return session


async def _whoami(api: ChatApi, credentials: Credentials) -> MeRead:
    try:
        return await api.me()
    except ApiError as error:
        if error.status == 401 and isinstance(credentials, PersonalToken):
            raise ChatError(
                f"the server refused {TOKEN_VARIABLE}: {error.line()}; {_TOKEN_HINT}"
            ) from None
        raise
