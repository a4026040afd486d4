"""A project's live view over HTTP: the SSE stream, its tickets and the /progress snapshot to
load before subscribing. Above the domains it reads; the bus itself is :mod:`app.events`."""
