"""An OpenAI-compatible ``/v1/embeddings`` server on a loopback port, for the openai provider.

Vectors are derived from each text's hash, so the same text always gets the same vector.
``plan`` scripts the next answers (a status code or a malformed body) before the normal ones.
"""

import asyncio
import hashlib
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def vector_for(text: str, size: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [digest[index % len(digest)] / 255 for index in range(size)]


@dataclass
class EmbeddingsServer:
    size: int
    plan: list[int | str] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    reverse_order: bool = False

    def __post_init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1"
        app = Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])])
        config = uvicorn.Config(app, log_level="critical", log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def _embeddings(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        if self.plan:
            step = self.plan.pop(0)
            if step == "malformed":
                return JSONResponse({"object": "list", "data": "nope"})
            if step == "short":
                return JSONResponse({"data": [{"index": 0, "embedding": [0.1] * self.size}]})
            if step == "wrong-size":
                size = self.size + 1
                return JSONResponse(
                    {
                        "data": [
                            {"index": i, "embedding": [0.1] * size}
                            for i in range(len(body["input"]))
                        ]
                    }
                )
            assert isinstance(step, int)
            return JSONResponse({"error": {"message": "secret provider words"}}, status_code=step)
        data = [
            {"object": "embedding", "index": index, "embedding": vector_for(text, self.size)}
            for index, text in enumerate(body["input"])
        ]
        if self.reverse_order:
            data.reverse()
        return JSONResponse({"object": "list", "data": data, "model": body["model"]})

    async def __aenter__(self) -> "EmbeddingsServer":
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._socket.close()
