"""The scripted conversation models in a process of their own, so a test can SIGKILL them:
``python -m tests.reliability.llm_process --port N`` prints the port, then serves."""

import argparse
import asyncio
import signal

from tests.conversation_double import conversation_responder
from tests.llm_double import ScriptedLLMServer


async def serve(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with ScriptedLLMServer("127.0.0.1", port, responder=conversation_responder) as server:
        print(server.port, flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args().port))
