"""Item 3 of run_all: the orchestration's own time per agent turn, beside a bare pydantic-ai agent.

A turn is the user's answer to an expert's questions and all that follows in one run: intent,
the expert's section (streamed), the Product Manager's integration into the document, the floor
decision and the next expert's questions, with the memory searches and indexing in between.

- The scripted OpenAI-compatible server (``backend/tests/llm_double`` with the conversation
  responder of the e2e tests) runs in this process, on CPU 1, waiting ``delay`` seconds before
  each reply: the model's time.
- The API runs as in ``bench/baseline_apps.conversation_app`` on CPU 0 with its job worker in
  the process. Each measured turn is a POST of the answer; it ends when the run's
  ``run.completed`` event arrives on the project's SSE stream, held open by this process.
- The bare agent (``--replay``, a process of its own on CPU 0 while the API idles) makes the
  same model calls of each turn, with the same instructions, prompts and output types, one
  after another with nothing in between: pydantic-ai's own cost plus the model's.

Per turn: wall (engine), model = calls × delay, library = bare − model, engine = wall − bare.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import uvloop

from _harness import (
    BACKEND,
    SERVER_CPU,
    Stack,
    access_token,
    api_environment,
    pinned_command,
    seed,
    start_api,
)

IDEA = "Хочу сделать приложение, через которое маленькие пекарни продают хлеб ночью."
ANSWER = "1.b, 2.a — нужен упор на B2B"
MODEL = "scripted-model"


@dataclass(frozen=True, slots=True)
class Call:
    """One model call as the engine made it: enough for the bare agent to make it again."""

    instructions: str
    prompt: str
    # The output tool the engine offered (its name and JSON schema); None for streamed text.
    output: dict[str, Any] | None


@dataclass
class Turn:
    repetition: int
    delay: float
    wall_ms: float
    started: float  # wall clock, to find the API process's probe samples
    ended: float
    calls: list[Call]


# --- the scripted model, on a thread of this process --------------------------------------------


class ModelThread:
    def __init__(self) -> None:
        sys.path.insert(0, str(BACKEND))  # tests.llm_double and the conversation responder
        from tests.conversation_double import conversation_responder
        from tests.llm_double import ScriptedLLMServer

        self.server = ScriptedLLMServer(responder=conversation_responder)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "ModelThread":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def call_of(body: dict[str, Any]) -> Call:
    messages = body.get("messages", [])
    instructions = "\n".join(
        str(m["content"]) for m in messages if m["role"] in {"system", "developer"}
    )
    prompt = "\n".join(str(m["content"]) for m in messages if m["role"] == "user")
    tools = [tool["function"] for tool in body.get("tools", [])]
    if not tools:
        return Call(instructions, prompt, None)
    # The schema itself, not a model class looked up by its fields: the replay offers the very
    # tool the engine offered, whatever its contracts look like today.
    tool = tools[0]
    return Call(instructions, prompt, {"name": tool["name"], "schema": tool.get("parameters", {})})


# --- the engine's turns, through the API ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chat:
    """One project's conversation as its user sees it: the API, and the arrival time of every
    run's ``run.completed`` event on the project's SSE stream."""

    client: httpx.AsyncClient
    base: str
    headers: dict[str, str]
    arrivals: dict[str, int]

    async def say(self, text: str) -> tuple[int, int]:
        """POST the message; return once its run completed: (sent, completed), perf_counter ns."""
        sent = time.perf_counter_ns()
        accepted = await self.client.post(
            f"{self.base}/messages", json={"content": text}, headers=self.headers
        )
        accepted.raise_for_status()
        run_id = accepted.json()["run"]["id"]
        deadline = time.monotonic() + 120
        while run_id not in self.arrivals:
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {run_id} did not complete within 120 s")
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.2)  # let the worker finish its bookkeeping before the next turn
        return sent, self.arrivals[run_id]


async def engine_turns(
    api_url: str,
    stack: Stack,
    user_id: Any,
    model: ModelThread,
    repetition: int,
    delay: float,
    projects: int,
    answers: int,
) -> list[Turn]:
    from sse_fanout import open_subscriber

    model.server.delay = delay
    port = int(api_url.rsplit(":", 1)[1])
    turns: list[Turn] = []
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as client:
        for _ in range(projects):
            token = access_token(stack, user_id)
            headers = {"Authorization": f"Bearer {token}"}
            created = await client.post("/api/v1/projects", json={"name": "turns"}, headers=headers)
            created.raise_for_status()
            base = f"/api/v1/projects/{created.json()['id']}"
            stream = await open_subscriber("127.0.0.1", port, f"{base}/events", token)
            listener = asyncio.create_task(stream.listen())
            chat = Chat(client, base, headers, stream.arrivals)
            try:
                await chat.say(IDEA)  # opens the project: language, greeting, first questions
                for _ in range(answers):
                    turns.append(Turn(repetition, delay, *await timed_turn(chat, model)))
            finally:
                stream.writer.close()
                listener.cancel()
    return turns


async def timed_turn(chat: Chat, model: ModelThread) -> tuple[float, float, float, list[Call]]:
    """The wall time of one answer turn, its wall-clock window and the model calls it made."""
    before = len(model.server.exchanges())
    started = time.time()
    sent, completed = await chat.say(ANSWER)
    calls = [call_of(exchange.body) for exchange in model.server.exchanges()[before:]]
    wall_ms = (completed - sent) / 1e6
    return wall_ms, started, started + wall_ms / 1000, calls


# --- the bare agent (``--replay``, a process of its own) -----------------------------------------


async def replay(turns: list[list[Call]], base_url: str) -> list[float]:
    from pydantic_ai import Agent, StructuredDict, ToolOutput
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(base_url=base_url, api_key="bench"))
    agent = Agent(model)

    async def one(call: Call) -> None:
        if call.output is None:
            async with agent.run_stream(call.prompt, instructions=call.instructions) as stream:
                async for _ in stream.stream_text(delta=True, debounce_by=None):
                    pass
            return
        output = StructuredDict(call.output["schema"], name=call.output["name"])
        await agent.run(
            call.prompt,
            instructions=call.instructions,
            output_type=ToolOutput(output, name=call.output["name"]),
        )

    for call in turns[0]:  # warm-up: connections, schemas, validators
        await one(call)
    walls = []
    for calls in turns:
        started = time.perf_counter()
        for call in calls:
            await one(call)
        walls.append((time.perf_counter() - started) * 1000)
    return walls


def bare_walls(stack: Stack, turns: list[Turn], base_url: str) -> list[float]:
    calls_file = stack.root / "turn-calls.json"
    calls_file.write_text(json.dumps([[asdict(call) for call in turn.calls] for turn in turns]))
    command = [
        sys.executable,
        str(Path(__file__)),
        "--replay",
        str(calls_file),
        "--base-url",
        base_url,
    ]
    done = subprocess.run(
        pinned_command(command, SERVER_CPU),
        capture_output=True,
        text=True,
        cwd=BACKEND,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the bare agent failed: {done.stderr[-3000:]}")
    walls: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return walls


# --- the item ------------------------------------------------------------------------------------


def in_window(samples: list[list[float]], turn: Turn) -> float:
    """Milliseconds of the samples (start, duration) that started within the turn."""
    return sum(ms for at, ms in samples if turn.started <= at <= turn.ended)


def run(stack: Stack, quick: bool) -> dict[str, Any]:
    delays = [0.5, 0.0]
    repetitions, projects, answers = (1, 1, 2) if quick else (3, 2, 3)
    user = asyncio.run(seed(stack, email="turns@example.com"))
    with ModelThread() as model:
        env = api_environment(
            stack,
            JEEX_LLM_PROVIDER="openai",
            JEEX_LLM_BASE_URL=model.server.base_url,
            JEEX_LLM_MODEL=MODEL,
            JEEX_WORKER_IN_PROCESS="true",
            BENCH_QDRANT_PATH=str(stack.root / "qdrant"),
        )
        env.pop("JEEX_QDRANT_URL")
        api = start_api(
            stack,
            factory="baseline_apps:conversation_app",
            env=env,
            probes="lag,tracing,turns",
            name="turns",
        )
        turns: list[Turn] = []
        try:
            from http_items import wait_idle

            wait_idle(api.pid)
            for delay in delays:
                for repetition in range(repetitions):
                    turns += asyncio.run(
                        engine_turns(
                            api.url,
                            stack,
                            user.user_id,
                            model,
                            repetition,
                            delay,
                            projects,
                            answers,
                        )
                    )
        finally:
            probes = api.stop()
        bare_by_delay = {}
        for delay in delays:
            model.server.delay = delay
            chosen = [turn for turn in turns if turn.delay == delay]
            bare_by_delay[delay] = iter(bare_walls(stack, chosen, model.server.base_url))
    rows = []
    for turn in turns:
        bare = next(bare_by_delay[turn.delay])
        model_ms = len(turn.calls) * turn.delay * 1000
        rows.append(
            {
                "repetition": turn.repetition,
                "delay_ms": turn.delay * 1000,
                "calls": len(turn.calls),
                "wall_ms": turn.wall_ms,
                "bare_ms": bare,
                "model_ms": model_ms,
                "library_ms": bare - model_ms,
                "engine_ms": turn.wall_ms - bare,
                "embeddings_ms": in_window(probes.get("embeddings", []), turn),
                "gateway_ms": in_window(probes.get("model_calls", []), turn),
            }
        )
    result = {"delays": delays, "turns": rows, "lag": probes.get("lag", [])[-1:]}
    result["protocol"] = protocol_costs(stack, quick)
    return result


def protocol_costs(stack: Stack, quick: bool) -> dict[str, Any]:
    """Today's protocol beside the working tree's, per message kind (``bench/protocol.py``)."""
    import protocol

    result = protocol.run(stack, answers=1 if quick else 2)
    result["markdown"] = protocol.markdown(result)
    print(result["markdown"], file=sys.stderr, flush=True)
    return result


def main() -> None:
    import protocol

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--replay", type=Path, help="JSON file of turns' calls")
    parser.add_argument("--base-url")
    parser.add_argument(
        "--protocol-compare",
        action="store_true",
        help="today's protocol beside the working tree's, per message kind; prints the table",
    )
    protocol.add_arguments(parser)
    arguments = parser.parse_args()
    if arguments.protocol_compare:
        sys.exit(protocol.compare(arguments))
    if arguments.replay is None or arguments.base_url is None:
        parser.error("--replay and --base-url go together (or use --protocol-compare)")
    turns = [[Call(**call) for call in turn] for turn in json.loads(arguments.replay.read_text())]
    print(json.dumps(uvloop.run(replay(turns, arguments.base_url))))


if __name__ == "__main__":
    main()
