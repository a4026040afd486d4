"""The app's route table as it is served: every API route with its full, prefixed path.

Since FastAPI nests included routers instead of copying their routes, ``app.routes`` alone no
longer lists them; walking it directly would make route-table tests pass vacuously.
"""

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts


def api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    routes = [
        (context.path, context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path is not None
    ]
    # A walk that finds nothing is a broken walk, not a clean bill of health.
    assert len(routes) >= 10, f"route table walk found only {len(routes)} API routes"
    return routes


def methods(route: APIRoute) -> list[str]:
    """The route's HTTP methods, sorted (an APIRoute always has some)."""
    assert route.methods is not None
    return sorted(route.methods)
