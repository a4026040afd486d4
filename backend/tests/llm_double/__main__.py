"""Run the scripted server on its own: ``python -m tests.llm_double [--port N] [--delay S]``.

Prints the port it listens on, alone on a line, then serves until SIGTERM or SIGINT.
"""

import argparse
import asyncio
import signal

from tests.llm_double.server import ScriptedLLMServer


async def serve(host: str, port: int, delay: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with ScriptedLLMServer(host, port, delay=delay) as server:
        print(server.port, flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.host, arguments.port, arguments.delay))


if __name__ == "__main__":
    main()
