"""The scripted OpenAI-compatible HTTP server: Starlette under uvicorn, on a loopback port.

It runs inside the test's event loop (``async with ScriptedLLMServer() as server``) or, for the
benchmark, in a process of its own (``python -m tests.llm_double``).
"""

import asyncio
import contextlib
import json
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from uuid import uuid4

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.llm_double.script import (
    Directive,
    Fault,
    Reply,
    Responder,
    TextReply,
    ToolReply,
    build_reply,
    count_tokens,
    message_text,
    parse_directive,
    prompt_tokens,
)

# A hang lasts until the client gives up; this only bounds a test that forgot its timeout.
HANG_CAP_SECONDS = 30.0


class StreamCut(Exception):  # noqa: N818 - it is a deliberate event, not an error of ours
    """Raised inside a streaming body: uvicorn then drops the connection mid-response."""


@dataclass(slots=True)
class Exchange:
    """One request as the server saw it, and what it did with it."""

    key: str
    number: int
    fault: Fault | None
    streamed: bool
    body: dict[str, Any]
    received_at: float
    status: int = 200
    output: str = ""
    usage: tuple[int, int] = (0, 0)
    disconnected_at: float | None = None

    def retry_feedback(self) -> list[str]:
        """The messages that fed an earlier output's validation errors back to the model."""
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        roles = [message.get("role") for message in messages]
        if "assistant" not in roles:
            return []
        after_answer = messages[roles.index("assistant") + 1 :]
        return [
            message_text(message) for message in after_answer if message.get("role") != "system"
        ]


@dataclass(slots=True)
class _State:
    counts: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    exchanges: list[Exchange] = field(default_factory=list)


class ScriptedLLMServer:
    """``async with ScriptedLLMServer() as server: ... server.base_url ...``"""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        delay: float = 0.0,
        hold: "Callable[[dict[str, Any]], float] | None" = None,
        chunk_delay: float = 0.0,
        known_models: "Sequence[str] | None" = None,
    ) -> None:
        # Decides a healthy reply from the request itself when a test needs real content
        # (a conversation); returning None leaves the reply to the generic script.
        self.responder = responder
        # Seconds every request waits before its reply unless its directive names a delay:
        # a model's latency, for benchmarks of whole conversation turns.
        self.delay = delay
        # Seconds to hold a request, decided from its body (e.g. its output schema): how a test
        # stops a run right at the start of one step. May be replaced while the server runs.
        self.hold = hold
        self.model_list_requests = 0
        # Seconds before each streamed chunk unless the directive names its own: a model that
        # writes visibly, for a person (or a browser test) watching the text come in.
        self.chunk_delay = chunk_delay
        # None: every model name is served and /models lists "scripted". Names: only these are
        # listed, and a request for any other is refused as OpenAI refuses an unknown model.
        self.known_models = None if known_models is None else tuple(known_models)
        self._state = _State()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without it Nagle holds the body back until the
        # client's delayed ACK of the headers, adding 40 ms to every keep-alive response.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def exchanges(self, key: str | None = None) -> list[Exchange]:
        return [item for item in self._state.exchanges if key is None or item.key == key]

    def reset(self) -> None:
        self._state = _State()

    # --- lifecycle ------------------------------------------------------------------------

    def config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app, log_level="critical", log_config=None, lifespan="off", access_log=False
        )

    async def start(self) -> None:
        self._server = uvicorn.Server(self.config())
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._socket.close()

    async def __aenter__(self) -> "ScriptedLLMServer":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- endpoints ------------------------------------------------------------------------

    async def _models(self, request: Request) -> Response:
        self.model_list_requests += 1
        names = self.known_models if self.known_models is not None else ("scripted",)
        listed = [{"id": name, "object": "model"} for name in names]
        return JSONResponse({"object": "list", "data": listed})

    def _unknown_model(self, body: dict[str, Any]) -> Response | None:
        model = str(body.get("model"))
        if self.known_models is None or model in self.known_models:
            return None
        message = f"The model `{model}` does not exist or you do not have access to it."
        error = {"message": message, "type": "invalid_request_error", "param": None}
        return JSONResponse({"error": error | {"code": "model_not_found"}}, 404)

    async def _chat_completions(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        refused = self._unknown_model(body)
        if refused is not None:
            return refused
        script = parse_directive(body.get("messages", []))
        self._state.counts[script.key] += 1
        number = self._state.counts[script.key]
        faulty = script.applies_to(number)
        exchange = Exchange(
            key=script.key,
            number=number,
            fault=script.fault if faulty else None,
            streamed=bool(body.get("stream")),
            body=body,
            received_at=time.monotonic(),
        )
        self._state.exchanges.append(exchange)
        delay = script.delay or self.delay or (self.hold(body) if self.hold else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if faulty:
            early = await self._transport_fault(request, script, exchange)
            if early is not None:
                return early
        reply = self._reply(body, script, faulty=faulty)
        exchange.output = reply.content if isinstance(reply, TextReply) else reply.arguments
        exchange.usage = (prompt_tokens(body), count_tokens(exchange.output))
        if exchange.streamed:
            return StreamingResponse(
                self._stream(request, body, reply, script, exchange, cut=faulty),
                media_type="text/event-stream",
            )
        completion = _completion(body, reply, exchange.usage)
        if not script.usage:
            del completion["usage"]
        return JSONResponse(completion)

    def _reply(self, body: dict[str, Any], script: Directive, *, faulty: bool) -> Reply:
        if not faulty and self.responder is not None:
            chosen = self.responder(body)
            if chosen is not None:
                return chosen
        return build_reply(body, script, faulty=faulty)

    async def _transport_fault(
        self, request: Request, script: Directive, exchange: Exchange
    ) -> Response | None:
        """Answer a fault that happens before any reply; ``None`` for faults in the reply."""
        if script.fault is Fault.RATE_LIMITED:
            exchange.status = 429
            headers = {"Retry-After": script.retry_after} if script.retry_after else {}
            return JSONResponse(_error("rate_limit_exceeded", "slow down"), 429, headers)
        if script.fault is Fault.SERVER_ERROR:
            exchange.status = 500
            return JSONResponse(_error("server_error", script.message or "scripted failure"), 500)
        if script.fault is Fault.BAD_REQUEST:
            exchange.status = 400
            message = script.message or "secret prompt echoed"
            return JSONResponse(_error("invalid_request_error", message), 400)
        if script.fault is Fault.HANG:
            await self._wait_for_disconnect(request, exchange)
            return Response(status_code=504)
        if script.fault is Fault.INVALID_JSON_BODY:
            return Response("{this is not json", media_type="application/json")
        return None

    async def _stall(self, request: Request, exchange: Exchange) -> None:
        """Send nothing more until the client goes. Starlette may notice the disconnect first
        and cancel the body instead: that is the client going too."""
        try:
            await self._wait_for_disconnect(request, exchange)
        except asyncio.CancelledError:
            exchange.disconnected_at = time.monotonic()
            raise

    async def _wait_for_disconnect(self, request: Request, exchange: Exchange) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HANG_CAP_SECONDS):
                while (await request.receive())["type"] != "http.disconnect":
                    pass
                exchange.disconnected_at = time.monotonic()

    async def _stream(
        self,
        request: Request,
        body: dict[str, Any],
        reply: Reply,
        script: Directive,
        exchange: Exchange,
        *,
        cut: bool,
    ) -> AsyncIterator[bytes]:
        chunk_id = f"chatcmpl-{uuid4().hex[:12]}"
        pieces = _split(reply)
        pause = script.chunk_delay or self.chunk_delay
        for index, delta in enumerate(pieces):
            if cut and script.fault is Fault.STREAM_CUT and index == script.chunks:
                raise StreamCut
            if cut and script.fault is Fault.STREAM_STALL and index == script.chunks:
                await self._stall(request, exchange)
                return
            if pause:
                await asyncio.sleep(pause)
            yield _sse(_chunk(chunk_id, body, delta, finish=None))
        finish = "tool_calls" if isinstance(reply, ToolReply) else "stop"
        yield _sse(_chunk(chunk_id, body, {}, finish=finish))
        if script.usage and (body.get("stream_options") or {}).get("include_usage"):
            yield _sse(
                {**_chunk(chunk_id, body, {}, finish=None), "choices": []} | _usage(exchange)
            )
        yield b"data: [DONE]\n\n"


def _split(reply: Reply) -> list[dict[str, Any]]:
    """The deltas of a streamed reply: one per word of text, three for tool arguments."""
    if isinstance(reply, TextReply):
        words = reply.content.split(" ")
        texts = [word + " " for word in words[:-1]] + [words[-1]]
        return [{"role": "assistant", "content": text} for text in texts]
    third = max(1, len(reply.arguments) // 3)
    parts = [
        reply.arguments[:third],
        reply.arguments[third : 2 * third],
        reply.arguments[2 * third :],
    ]
    first = {
        "index": 0,
        "id": "call_scripted",
        "type": "function",
        "function": {"name": reply.name, "arguments": parts[0]},
    }
    deltas: list[dict[str, Any]] = [{"role": "assistant", "tool_calls": [first]}]
    deltas += [
        {"tool_calls": [{"index": 0, "function": {"arguments": part}}]} for part in parts[1:]
    ]
    return deltas


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _chunk(
    chunk_id: str, body: dict[str, Any], delta: dict[str, Any], *, finish: str | None
) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(exchange: Exchange) -> dict[str, Any]:
    prompt, completion = exchange.usage
    return {
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    }


def _completion(body: dict[str, Any], reply: Reply, usage: tuple[int, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if isinstance(reply, ToolReply):
        message["tool_calls"] = [
            {
                "id": "call_scripted",
                "type": "function",
                "function": {"name": reply.name, "arguments": reply.arguments},
            }
        ]
    else:
        message["content"] = reply.content
    prompt, completion = usage
    return {
        "id": f"chatcmpl-{uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if isinstance(reply, ToolReply) else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "code": code}}
