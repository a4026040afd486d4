from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query
from pydantic import AfterValidator, WithJsonSchema
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from app.core.deps import SessionDep
from app.core.errors import error_responses, json_error_responses
from app.events.schemas import ProjectEvent
from app.projects.dependencies import ProjectViewer
from app.streams import progress as progress_service
from app.streams import service as stream_service
from app.streams.dependencies import EventStreamContext
from app.streams.resources import StreamResourcesDep
from app.streams.schemas import EventStreamTicket, ProjectProgress

router = APIRouter(prefix="/projects", tags=["events"])


class EventStreamResponse(EventSourceResponse):
    # FastAPI documents a route under its response class's media_type; sse-starlette sets it
    # per instance only, which would list the stream as application/json.
    media_type = "text/event-stream"

    # Set after construction: FastAPI reads the default status code off __init__'s signature.
    on_close: Callable[[], None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Here rather than in the event generator: a client gone before the first event
        # cancels the response before the generator ever starts, and its finally never runs.
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.on_close is not None:
                self.on_close()


# A Redis stream id: milliseconds, a dash, a sequence number; or a bare "0", "from the start".
EVENT_ID_PATTERN = r"^(0|[0-9]{1,20}-[0-9]{1,20})$"
# A header is absent or a string, never JSON null (which clients would send as "null").
_EVENT_ID_SCHEMA = WithJsonSchema({"type": "string", "pattern": EVENT_ID_PATTERN})
# Each half of a stream id is an unsigned 64-bit number: twenty digits reach past it, and Redis
# refuses such an id only once the stream has begun, too late for a 422.
_EVENT_ID_PART_MAX = 2**64 - 1


def _within_redis_range(event_id: str | None) -> str | None:
    if event_id == "0":
        return "0-0"
    if event_id is not None and any(int(part) > _EVENT_ID_PART_MAX for part in event_id.split("-")):
        raise ValueError(f"each part of an event id is at most {_EVENT_ID_PART_MAX}")
    return event_id


_EVENT_ID_RANGE = AfterValidator(_within_redis_range)


_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ProjectEvent,
        "description": "An endless `text/event-stream`. Each message's `event` is the event "
        "type, `id` the event id (a Redis stream id) and `data` the JSON shown here. A `ping` "
        "comes every 15 s (`JEEX_EVENTS_PING_SECONDS`); on shutdown a last `ping` carries a "
        "`retry:` hint. Resume with `Last-Event-ID` (or `?last_event_id=`).",
    },
    **json_error_responses(401, 404, 413, 422, 429, 500, 503),
}


def describe_stream_items(openapi: dict[str, Any]) -> dict[str, Any]:
    """Document the stream as a sequence of SSE messages (``event``, ``id``, ``data``), each
    ``data`` being JSON of one event model. FastAPI would put the event models where the
    message itself is described; clients and schemathesis read that schema per message."""
    for item in openapi["paths"].values():
        for operation in item.values():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            stream = content.get(EventStreamResponse.media_type)
            if stream is None:
                continue
            events = {key: value for key, value in stream["schema"].items() if key != "type"}
            stream["schema"] = {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "event": {"type": "string", "description": "The event type."},
                    "id": {"type": "string", "description": "The event id, for Last-Event-ID."},
                    "retry": {"type": "integer", "description": "Reconnect hint, in ms."},
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": events,
                    },
                },
            }
    return openapi


@router.get(
    "/{project_id}/events",
    response_class=EventStreamResponse,
    responses=_STREAM_RESPONSES,
    summary="Subscribe to the project's events (SSE)",
)
async def stream_events(
    context: EventStreamContext,
    resources: StreamResourcesDep,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            pattern=EVENT_ID_PATTERN,
            description="Replay every event after this one first (sent by EventSource when "
            "it reconnects).",
        ),
        _EVENT_ID_RANGE,
        _EVENT_ID_SCHEMA,
    ] = None,
    last_event_id: Annotated[
        str | None,
        Query(
            pattern=EVENT_ID_PATTERN,
            description="The same, for a new connection: e.g. `last_event_id` of /progress; "
            "`0` (or `0-0`) replays the whole retained history.",
        ),
        _EVENT_ID_RANGE,
        _EVENT_ID_SCHEMA,
    ] = None,
) -> EventStreamResponse:
    """Events after `Last-Event-ID` (exclusive), then each new one as it is published.

    Members only, viewers included. Without a resume point the stream starts at the moment of
    subscription; load `/progress` first and pass its `last_event_id` to miss nothing.
    """
    streams = resources.event_streams
    release = streams.reserve(context.user_id)
    settings = resources.settings.events
    shutdown = anyio.Event()
    project_id = context.project_id
    # The header wins: EventSource sends it on reconnect, with a newer id than the URL's.
    after = last_event_id_header or last_event_id
    if after is None:
        # "From now on" is pinned to a concrete id before the headers go out: a client that
        # has its 200 misses nothing published after it, and no read can skip an event that
        # lands between two reads. An empty stream starts before any id Redis will assign.
        try:
            after = await resources.events.last_event_id(project_id) or "0-0"
        except BaseException:
            release()
            raise
    response = EventStreamResponse(
        streams.events(
            project_id,
            after,
            shutdown,
            stream_service.membership_check(resources.session_factory, context),
        ),
        ping=settings.ping_seconds,
        ping_message_factory=lambda: streams.ping(project_id),
        send_timeout=settings.send_timeout_seconds,
        shutdown_event=shutdown,
        shutdown_grace_period=settings.shutdown_grace_seconds,
    )
    response.on_close = release
    return response


@router.post(
    "/{project_id}/events/ticket",
    response_model=EventStreamTicket,
    responses=error_responses(401, 404),
)
async def create_stream_ticket(
    context: ProjectViewer, resources: StreamResourcesDep
) -> EventStreamTicket:
    """A single-use ticket that opens this project's event stream without a header."""
    return await stream_service.issue_ticket(resources.redis, resources.settings.events, context)


# The snapshot lives beside the stream it prepares, under the projects' tag as before.
progress_router = APIRouter(prefix="/projects", tags=["projects"])


@progress_router.get(
    "/{project_id}/progress",
    response_model=ProjectProgress,
    responses=error_responses(401, 403, 404),
)
async def get_progress(
    context: ProjectViewer, session: SessionDep, resources: StreamResourcesDep
) -> ProjectProgress:
    """Stage statuses, each document's active version and the newest event id: the snapshot
    to load before subscribing to the project's events."""
    return await progress_service.progress(session, resources.events, context)
