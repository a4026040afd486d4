"""A fixed-rate (open-loop) HTTP/1.1 load generator: latency at a given request rate.

    python bench/loadgen.py --url http://127.0.0.1:8000/api/v1/auth/me --rate 500 \
        --duration 10 [--header "Authorization: Bearer …"] [--connections 64]

wrk measures the maximum rate (a closed loop: each connection sends its next request when the
last one is answered), but it cannot hold a rate, and Debian has no wrk2. This sends request i
at ``start + i / rate`` whatever happened before, over a pool of keep-alive connections, and
times each one from that scheduled moment to the last byte of its response. A request that
waits for a free connection therefore counts its wait, so a server that falls behind shows in
the tail instead of silently lowering the rate (no coordinated omission). Prints one JSON line.
"""

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

import uvloop


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


async def run(
    url: str, headers: list[str], rate: float, duration: float, connections: int
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", *headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(Connection(*await asyncio.open_connection(host, port)))

    latencies: list[float] = []
    errors = 0

    async def one(scheduled: float) -> None:
        nonlocal errors
        connection = await idle.get()
        try:
            status = await connection.request(raw)
        finally:
            idle.put_nowait(connection)
        if status != 200:
            errors += 1
        latencies.append((time.perf_counter() - scheduled) * 1000)

    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    tasks = []
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    latencies.sort()

    def at(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, round(fraction * (len(latencies) - 1)))]

    return {
        "rate": rate,
        "requests": len(latencies),
        "achieved_rps": len(latencies) / elapsed,
        "errors": errors,
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": latencies[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--header", action="append", default=[])
    arguments = parser.parse_args()
    result = uvloop.run(
        run(
            arguments.url,
            arguments.header,
            arguments.rate,
            arguments.duration,
            arguments.connections,
        )
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
