"""Reading ``text/event-stream`` in tests, the way a browser's EventSource parses it."""

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import httpx


@dataclass
class Message:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


async def messages(response: httpx.Response) -> AsyncGenerator[Message, None]:
    """Each dispatched message, comment-only blocks included (as messages without data)."""
    current = Message()
    data_lines: list[str] = []
    touched = False
    async for line in response.aiter_lines():
        if line == "":
            if touched:
                current.data = "\n".join(data_lines)
                yield current
            current, data_lines, touched = Message(), [], False
            continue
        touched = True
        if line.startswith(":"):
            current.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            current.event = value
        elif name == "data":
            data_lines.append(value)
        elif name == "id":
            current.id = value
        elif name == "retry":
            current.retry = int(value)
