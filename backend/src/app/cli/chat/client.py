"""The API as the terminal client uses it: JSON calls answered with the API's own models, the
export download, and the project's event stream with reconnects."""

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote
from uuid import UUID

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.auth.schemas import MeRead
from app.cli.chat.auth import BearerAuth, Credentials
from app.cli.chat.errors import ApiError, ServerUnreachableError, api_error
from app.conversation.schemas import MessageAccepted, RunRead, StageStartAccepted
from app.documents.schemas import DocumentVersionRead
from app.events.schemas import ProjectEvent
from app.exports.schemas import ExportRead
from app.messages.schemas import MessagePage
from app.projects.schemas import ProjectRead, StageRead
from app.streams.schemas import ProjectProgress

Model = TypeVar("Model", bound=BaseModel)

_EVENTS = TypeAdapter[ProjectEvent](ProjectEvent)
_PROJECTS = TypeAdapter(list[ProjectRead])
# Pings come every 15 s; a stream silent for four times that is dead even if its socket is not.
_STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)
_CALL_TIMEOUT = httpx.Timeout(30.0)
_FIRST_PAUSE, _MAX_PAUSE = 0.5, 15.0
_FILENAME_STAR = re.compile(r"filename\*=UTF-8''([^;]+)", re.IGNORECASE)


def open_clients(url: str) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """A client for signed-in calls and one without credentials for the sign-in routes."""
    return (
        httpx.AsyncClient(base_url=url, timeout=_CALL_TIMEOUT),
        httpx.AsyncClient(base_url=url, timeout=_CALL_TIMEOUT),
    )


class ChatApi:
    def __init__(self, http: httpx.AsyncClient, credentials: Credentials) -> None:
        self._http = http
        self._auth = BearerAuth(credentials)
        self.url = str(http.base_url).rstrip("/")

    async def _send(self, method: str, path: str, doing: str, **options: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, auth=self._auth, **options)
        except httpx.TransportError as error:
            raise ServerUnreachableError(self.url, error) from None
        if response.is_error:
            raise api_error(response, doing)
        return response

    async def _json(
        self, model: type[Model], method: str, path: str, doing: str, **options: Any
    ) -> Model:
        response = await self._send(method, path, doing, **options)
        return model.model_validate_json(response.content)

    async def me(self) -> MeRead:
        return await self._json(MeRead, "GET", "/api/v1/auth/me", "signing in")

    async def projects(self) -> list[ProjectRead]:
        response = await self._send("GET", "/api/v1/projects", "listing projects")
        return _PROJECTS.validate_json(response.content)

    async def project(self, project_id: UUID) -> ProjectRead:
        return await self._json(
            ProjectRead, "GET", f"/api/v1/projects/{project_id}", "opening the project"
        )

    async def create_project(self, name: str) -> ProjectRead:
        return await self._json(
            ProjectRead, "POST", "/api/v1/projects", "creating the project", json={"name": name}
        )

    async def progress(self, project_id: UUID) -> ProjectProgress:
        return await self._json(
            ProjectProgress, "GET", _in(project_id, "progress"), "loading the progress"
        )

    async def messages(self, project_id: UUID, limit: int) -> MessagePage:
        return await self._json(
            MessagePage,
            "GET",
            _in(project_id, "messages"),
            "loading the chat",
            params={"limit": limit},
        )

    async def post_message(self, project_id: UUID, content: str) -> MessageAccepted:
        return await self._json(
            MessageAccepted,
            "POST",
            _in(project_id, "messages"),
            "sending the message",
            json={"content": content},
        )

    async def cancel_run(self, project_id: UUID, run_id: UUID) -> RunRead:
        return await self._json(
            RunRead, "POST", _in(project_id, f"runs/{run_id}/cancel"), "stopping the run"
        )

    async def complete_stage(self, project_id: UUID, stage: str) -> StageRead:
        return await self._json(
            StageRead,
            "POST",
            _in(project_id, f"stages/{stage}/complete"),
            f"completing the {stage} stage",
        )

    async def start_stage(self, project_id: UUID, stage: str) -> StageStartAccepted:
        return await self._json(
            StageStartAccepted,
            "POST",
            _in(project_id, f"stages/{stage}/start"),
            f"starting the {stage} stage",
        )

    async def document(self, project_id: UUID, document_type: str) -> DocumentVersionRead:
        return await self._json(
            DocumentVersionRead,
            "GET",
            _in(project_id, f"documents/{document_type}"),
            f"loading the {document_type} document",
        )

    async def request_export(self, project_id: UUID) -> ExportRead:
        return await self._json(ExportRead, "POST", _in(project_id, "exports"), "exporting")

    async def export(self, project_id: UUID, export_id: UUID) -> ExportRead:
        return await self._json(
            ExportRead, "GET", _in(project_id, f"exports/{export_id}"), "following the export"
        )

    async def download(self, exported: ExportRead, target: Path) -> Path:
        """Write the ready archive to ``target`` (a file, or a folder for the server's file
        name) through a temporary file, after checking it against the export's SHA-256."""
        if exported.download_path is None:
            raise ApiError(409, "export_not_ready", "the export has nothing to download yet")
        try:
            async with self._http.stream(
                "GET", exported.download_path, auth=self._auth
            ) as response:
                if response.is_error:
                    await response.aread()
                    raise api_error(response, "downloading the export")
                path = _download_target(target, response, exported.id)
                digest = await _write_stream(response, path)
        except httpx.TransportError as error:
            raise ServerUnreachableError(self.url, error) from None
        if exported.archive_sha256 is not None and digest != exported.archive_sha256:
            path.unlink(missing_ok=True)
            raise ApiError(
                200, "download_corrupt", "the downloaded archive does not match its SHA-256"
            )
        return path

    async def events(
        self,
        project_id: UUID,
        after: str,
        on_reconnect: Callable[[str], None],
    ) -> AsyncIterator[ProjectEvent]:
        """The project's events after ``after``, for as long as the caller reads them. A drop
        is retried with the last id seen (the server replays what was missed) after a growing
        pause; ``on_reconnect`` hears why. A 404 (the project is gone, or access ended) or a
        refused token ends the stream with its error."""
        last_id = after
        pause = _FIRST_PAUSE
        while True:
            try:
                async with aconnect_sse(
                    self._http,
                    "GET",
                    _in(project_id, "events"),
                    headers={"Last-Event-ID": last_id},
                    auth=self._auth,
                    timeout=_STREAM_TIMEOUT,
                ) as source:
                    response = source.response
                    if response.status_code in {401, 403, 404}:
                        await response.aread()
                        raise api_error(response, "following the events")
                    if response.is_error:
                        await response.aread()
                        error = api_error(response, "following the events")
                        raise _RetryError(error.line(), _retry_after(error, pause))
                    pause = _FIRST_PAUSE
                    async for message in source.aiter_sse():
                        if message.retry is not None:
                            pause = min(message.retry / 1000, _MAX_PAUSE)
                        if message.event == "ping" or not message.data:
                            continue
                        if message.id:
                            last_id = message.id
                        event = _parse_event(message.data)
                        if event is not None:
                            yield event
                reason = "the server closed the event stream"
            except _RetryError as retry:
                reason, pause = retry.reason, retry.pause
            except (httpx.TransportError, SSEError) as error:
                reason = f"the event stream dropped ({type(error).__name__})"
            on_reconnect(reason)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)


class _RetryError(Exception):
    def __init__(self, reason: str, pause: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pause = pause


def _retry_after(error: ApiError, pause: float) -> float:
    if error.retry_after is not None and error.retry_after.isdigit():
        return min(float(error.retry_after), _MAX_PAUSE * 4)
    return pause


def _parse_event(data: str) -> ProjectEvent | None:
    # An event type newer than this client is skipped, not a crash: the API only adds them.
    try:
        return _EVENTS.validate_json(data)
    except ValidationError:
        return None


def _in(project_id: UUID, path: str) -> str:
    return f"/api/v1/projects/{project_id}/{path}"


def _download_target(target: Path, response: httpx.Response, export_id: UUID) -> Path:
    if not target.is_dir():
        return target
    disposition = response.headers.get("Content-Disposition", "")
    match = _FILENAME_STAR.search(disposition)
    # Only the final component: a server-chosen name never picks another folder.
    name = Path(unquote(match.group(1))).name if match else ""
    return target / (name or f"export-{export_id}.zip")


async def _write_stream(response: httpx.Response, path: Path) -> str:
    digest = hashlib.sha256()
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("wb") as handle:
            async for chunk in response.aiter_bytes():
                digest.update(chunk)
                handle.write(chunk)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return digest.hexdigest()
