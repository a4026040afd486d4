"""Every read and write of project memory is scoped by the id only the access guard hands out,
and no caller can bring a filter of its own."""

import inspect
import typing

from app.memory import repository as memory_repository
from app.memory import service as memory_service
from app.projects.scoping import AccessibleProjectID


def _coroutines(module: object) -> dict[str, typing.Any]:
    return {
        name: function
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction)
        if function.__module__ == getattr(module, "__name__", None) and not name.startswith("_")
    }


def test_every_collection_access_takes_an_accessible_project_id() -> None:
    functions = _coroutines(memory_repository)
    assert {"upsert", "search", "delete_project", "stored_vectors"} <= functions.keys()
    for name, function in functions.items():
        assert typing.get_type_hints(function).get("project_id") is AccessibleProjectID, name


def test_every_service_entry_point_takes_an_accessible_project_id() -> None:
    functions = _coroutines(memory_service)
    assert set(functions) == {
        "search",
        "index_document_version",
        "index_section",
        "index_message",
        "purge_project",
        "follow_language",
    }
    for name, function in functions.items():
        assert typing.get_type_hints(function).get("project_id") is AccessibleProjectID, name


def test_search_accepts_no_filter_and_no_language_from_its_caller() -> None:
    parameters = inspect.signature(memory_service.search).parameters
    # exclude_document can only narrow a search (drop one document's chunks), never widen it.
    assert list(parameters) == [
        "session",
        "memory",
        "project_id",
        "query",
        "limit",
        "exclude_document",
    ]
    assert parameters["project_id"].default is inspect.Parameter.empty
