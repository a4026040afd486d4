"""The API's routers are included most-requested first (FastAPI matches a path against every
route before the one that serves it). That is only safe while no route of an earlier router
also matches a path meant for a later one: checked here for every route and method."""

import re

from fastapi import FastAPI

from tests.routes import api_routes, methods


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "sample", path)


def test_every_route_is_the_first_to_match_its_own_paths(app: FastAPI) -> None:
    table = [(path, _pattern(path), route) for path, route in api_routes(app)]
    shadowed = []
    for path, _, route in table:
        for method in methods(route):
            first = next(
                (other_path, other)
                for other_path, pattern, other in table
                if method in methods(other) and pattern.match(_concrete(path))
            )
            if first[1] is not route:
                shadowed.append(f"{method} {path} is taken by {first[0]}")
    assert shadowed == []


def test_the_check_sees_a_shadowing_route() -> None:
    earlier, later = (
        "/api/v1/projects/{project_id}/{anything}",
        "/api/v1/projects/{project_id}/documents",
    )
    assert _pattern(earlier).match(_concrete(later))
    assert not _pattern("/api/v1/projects/{project_id}").match(_concrete(later))
