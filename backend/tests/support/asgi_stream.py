"""An httpx transport that streams an ASGI app's response as it is produced.

httpx's own ASGITransport waits for the whole body, which an endless SSE response never
finishes. This one returns as soon as the app sends its headers, yields body chunks as they
come, and tells the app the client went away (``http.disconnect``) when the response is closed.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

_CLOSE_TIMEOUT = 10.0


class _Body(httpx.AsyncByteStream):
    def __init__(
        self, chunks: "asyncio.Queue[bytes | None]", gone: asyncio.Event, app: asyncio.Task[None]
    ) -> None:
        self._chunks = chunks
        self._gone = gone
        self._app = app

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def aclose(self) -> None:
        self._gone.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._app, _CLOSE_TIMEOUT)


class StreamingASGITransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(key.lower(), value) for key, value in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
        }
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        gone = asyncio.Event()
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    chunks.put_nowait(message["body"])
                if not message.get("more_body", False):
                    chunks.put_nowait(None)

        async def run() -> None:
            await self.app(scope, receive, send)

        app = asyncio.create_task(run())
        app.add_done_callback(lambda _: chunks.put_nowait(None))
        await asyncio.wait((started, app), return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            app.result()  # the app failed before answering: raise its error here
            raise RuntimeError("the app returned without sending a response")
        status, headers = started.result()
        return httpx.Response(status, headers=headers, stream=_Body(chunks, gone, app))
