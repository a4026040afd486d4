"""SSE fan-out: many subscribers of one project on one API process, one event to all of them.

    .venv/bin/python bench/sse_fanout.py [--subscribers 2000] [--events 20] [--timeout 600]

What runs where, all on loopback:

- PostgreSQL 18 and Valkey 8 from the project's wheels, in a temporary directory;
- the API as a production replica (``uvicorn --factory app.main:app_from_environment``, one
  worker) in its own process, pinned to CPU 0 when the machine has two or more;
- the load generator in another process, pinned to CPU 1: it opens ``--subscribers`` raw HTTP
  connections to ``GET /api/v1/projects/{id}/events`` (bearer token, one user, one project),
  then publishes ``--events`` events one at a time through the service's own ``EventPublisher``
  and timestamps each event's arrival on every connection.

Reported: the API process's RSS before and with every subscriber connected (per connection),
the same for Valkey (each stream holds one Redis connection), the API process's CPU time per
delivery while the events went out, and the delivery latency from just before the XADD to the
arrival on each connection, as percentiles over every delivery and as the time until the first
and the last subscriber had each event. The load generator reads all sockets on one core, so
its own queueing is part of the latency (an upper bound on the server's share).
Each process raises its open-file limit to what the hard limit allows.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import psutil

from _harness import (
    BACKEND,
    LOAD_CPU,
    access_token,
    api_environment,
    embedded_stack,
    machine_facts,
    percentile,
    pin,
    raise_fd_limit,
    seed,
    start_api,
)

CONNECT_CONCURRENCY = 64


# --- load generator (a process of its own) ---------------------------------------------------


@dataclass
class Subscriber:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    arrivals: dict[str, int] = field(default_factory=dict)

    async def listen(self) -> None:
        """Read chunked SSE messages; note when each event (by run id) arrived."""
        while True:
            size_line = await self.reader.readline()
            if not size_line:
                return
            size = int(size_line.strip() or b"0", 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return
            arrived = time.perf_counter_ns()
            if b"run.completed" not in chunk:
                continue  # a ping
            for line in chunk.split(b"\r\n"):
                if line.startswith(b"data: "):
                    self.arrivals[json.loads(line[6:])["run_id"]] = arrived


async def open_subscriber(host: str, port: int, path: str, token: str) -> Subscriber:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"subscription refused: {head[:200]!r}")
    if b"transfer-encoding: chunked" not in head.lower():
        raise RuntimeError("expected a chunked event stream")
    return Subscriber(reader, writer)


async def load(args: argparse.Namespace) -> None:  # noqa: PLR0915 - one measurement, in order
    from app.core.config import Settings
    from app.core.redis import create_redis
    from app.events.publisher import EventPublisher
    from app.events.schemas import RunCompleted

    fd_limit = raise_fd_limit()
    host, port = "127.0.0.1", args.port
    project_id = UUID(args.project)
    path = f"/api/v1/projects/{project_id}/events"
    server = psutil.Process(args.server_pid)
    valkey = psutil.Process(args.redis_pid)
    settings = Settings(data_dir=Path(args.data_dir))
    redis = create_redis(settings, args.redis_url)
    publisher = EventPublisher(settings.events, redis)

    # Warm the server's code paths with a few streams, then measure its resting memory.
    warm = [await open_subscriber(host, port, path, args.token) for _ in range(8)]
    for subscriber in warm:
        subscriber.writer.close()
    await asyncio.sleep(1.0)
    rss_server_before, rss_valkey_before = server.memory_info().rss, valkey.memory_info().rss

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect() -> Subscriber:
        async with gate:
            return await open_subscriber(host, port, path, args.token)

    started = time.perf_counter()
    subscribers = await asyncio.gather(*(connect() for _ in range(args.subscribers)))
    connect_seconds = time.perf_counter() - started
    listeners = [asyncio.create_task(item.listen()) for item in subscribers]
    await asyncio.sleep(2.0)  # let the server settle: every stream is now blocked in XREAD
    rss_server_after, rss_valkey_after = server.memory_info().rss, valkey.memory_info().rss

    cpu_before = server.cpu_times()
    latencies_ms: list[float] = []
    last_arrival_ms: list[float] = []
    first_arrival_ms: list[float] = []
    for _ in range(args.events):
        run_id = uuid4()
        key = str(run_id)
        sent = time.perf_counter_ns()
        await publisher.publish(RunCompleted(project_id=project_id, run_id=run_id))
        deadline = time.monotonic() + 30
        while sum(key in item.arrivals for item in subscribers) < len(subscribers):
            if time.monotonic() > deadline:
                raise RuntimeError("not every subscriber received the event within 30 s")
            await asyncio.sleep(0.005)
        delays = [(item.arrivals[key] - sent) / 1e6 for item in subscribers]
        latencies_ms.extend(delays)
        last_arrival_ms.append(max(delays))
        first_arrival_ms.append(min(delays))
        await asyncio.sleep(0.5)

    cpu_after = server.cpu_times()
    cpu_seconds = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    for item in subscribers:
        item.writer.close()
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    await redis.aclose()
    print(
        json.dumps(
            {
                "subscribers": len(subscribers),
                "events": args.events,
                "connect_seconds": round(connect_seconds, 2),
                "fd_limit": fd_limit,
                "server_rss_before_mib": round(rss_server_before / 2**20, 1),
                "server_rss_after_mib": round(rss_server_after / 2**20, 1),
                "server_rss_per_connection_kib": round(
                    (rss_server_after - rss_server_before) / len(subscribers) / 1024, 1
                ),
                "valkey_rss_per_connection_kib": round(
                    (rss_valkey_after - rss_valkey_before) / len(subscribers) / 1024, 1
                ),
                # Everything the API process did while the events went out (pings and XREAD
                # renewals included), per delivery: less sensitive to a busy machine than
                # wall-clock latency.
                "server_cpu_us_per_delivery": round(
                    cpu_seconds / (args.events * len(subscribers)) * 1e6, 1
                ),
                "latency_p50_ms": round(percentile(latencies_ms, 0.50), 2),
                "latency_p99_ms": round(percentile(latencies_ms, 0.99), 2),
                "latency_max_ms": round(max(latencies_ms), 2),
                "all_delivered_median_ms": round(statistics.median(last_arrival_ms), 2),
                "all_delivered_worst_ms": round(max(last_arrival_ms), 2),
                "all_delivered_each_ms": [round(value) for value in last_arrival_ms],
                "first_delivered_each_ms": [round(value) for value in first_arrival_ms],
            }
        ),
        flush=True,
    )


# --- orchestration -----------------------------------------------------------------------------


def orchestrate(args: argparse.Namespace) -> None:
    raise_fd_limit()
    with embedded_stack("jeex-bench-sse-") as stack:
        user = asyncio.run(seed(stack))
        env = api_environment(
            stack,
            JEEX_LOG_LEVEL="WARNING",
            JEEX_EVENTS_MAX_STREAMS=str(args.subscribers + 100),
        )
        server = start_api(stack, env=env, probes="", name="sse")
        try:
            generator = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--role",
                    "load",
                    "--subscribers",
                    str(args.subscribers),
                    "--events",
                    str(args.events),
                    "--port",
                    server.url.rsplit(":", 1)[1],
                    "--project",
                    str(user.project_id),
                    "--token",
                    access_token(stack, user.user_id),
                    "--server-pid",
                    str(server.pid),
                    "--redis-pid",
                    str(stack.redis_pid),
                    "--redis-url",
                    stack.redis_url,
                    "--data-dir",
                    str(stack.data_dir),
                ],
                stdout=subprocess.PIPE,
                env=env,
                cwd=BACKEND,
            )
            pinned = pin(generator.pid, LOAD_CPU)
            output, _ = generator.communicate(timeout=args.timeout)
            if generator.returncode != 0:
                raise RuntimeError("the load generator failed")
            results = json.loads(output.decode().strip().splitlines()[-1])
        finally:
            server.stop()
    facts = machine_facts()
    results["machine"] = (
        f"{facts['cpu']}, {facts['cpus']} CPUs, {facts['memory']} RAM, {facts['kernel']}, "
        f"Python {facts['python']}"
    )
    results["pinned"] = "API on CPU 0, load generator on CPU 1" if pinned else "not pinned"
    print(json.dumps(results, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole run")
    parser.add_argument("--role", choices=["orchestrate", "load"], default="orchestrate")
    for internal in ("--port", "--project", "--token", "--server-pid", "--redis-pid"):
        parser.add_argument(internal, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "load":
        args.port, args.server_pid, args.redis_pid = (
            int(args.port),
            int(args.server_pid),
            int(args.redis_pid),
        )
        asyncio.run(load(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
