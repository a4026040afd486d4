"""Lines typed at the terminal, delivered to the event loop while it renders events.

One daemon thread reads standard input (the terminal's own line editing applies) and hands each
line to the loop. It is not ``asyncio.to_thread``: the loop's executor is joined when
``asyncio.run`` returns, and a thread blocked in a read would hold the program open until the
user pressed Enter once more; a daemon thread is simply left behind on exit. No readline
either: it changes the terminal's modes while it reads, and a program leaving mid-read would
hand the shell a terminal without echo.
"""

import asyncio
import sys
import threading
from contextlib import suppress
from typing import TextIO


class LineReader:
    def __init__(self, loop: asyncio.AbstractEventLoop, stream: TextIO = sys.stdin) -> None:
        self._loop = loop
        self._stream = stream
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._thread = threading.Thread(target=self._read, name="chat-input", daemon=True)

    def start(self) -> None:
        # A stray undecodable byte becomes U+FFFD rather than ending the chat.
        if hasattr(self._stream, "reconfigure"):
            self._stream.reconfigure(errors="replace")
        self._thread.start()

    async def next_line(self) -> str | None:
        """The next line without its newline; None at the end of input (Ctrl-D)."""
        line = await self._lines.get()
        if line is None:
            # Whoever asks next hears the end too.
            self._lines.put_nowait(None)
        return line

    def _read(self) -> None:
        while True:
            try:
                line = self._stream.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                self._deliver(None)
                return
            self._deliver(line.rstrip("\r\n"))

    def _deliver(self, line: str | None) -> None:
        # A closed loop means the chat is over: nobody waits for the line.
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
