"""Hold many SSE streams open on one API process until stdin closes (item 5 of run_all).

    python bench/sse_hold.py --url http://127.0.0.1:8000/api/v1/projects/{id}/events \
        --token … --streams 2000

Opens the streams with ``sse_fanout``'s raw subscriber, 64 at a time, prints one JSON line once
every stream is open, keeps reading (and dropping) whatever arrives, and closes them all when
its standard input reaches end of file.
"""

import argparse
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

from _harness import raise_fd_limit
from sse_fanout import CONNECT_CONCURRENCY, open_subscriber


async def hold(url: str, token: str, streams: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect():  # type: ignore[no-untyped-def]
        async with gate:
            return await open_subscriber(host, port, parts.path, token)

    started = time.perf_counter()
    subscribers = await asyncio.gather(*(connect() for _ in range(streams)))
    print(json.dumps({"streams": streams, "connect_seconds": time.perf_counter() - started}))
    sys.stdout.flush()
    listeners = [asyncio.create_task(item.listen()) for item in subscribers]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    for item in subscribers:
        item.writer.close()
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--streams", type=int, default=2000)
    arguments = parser.parse_args()
    raise_fd_limit()
    asyncio.run(hold(arguments.url, arguments.token, arguments.streams))


if __name__ == "__main__":
    main()
