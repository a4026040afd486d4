"""A query on a project-owned table must take the id only the access guard hands out."""

import inspect
import typing
from types import ModuleType

import pytest

from app.conversation import repository as conversation_repository
from app.documents import repository as document_repository
from app.exports import repository as export_repository
from app.memory import repository as memory_repository
from app.messages import repository as message_repository
from app.projects import invitation_repository
from app.projects import repository as project_repository
from app.projects import transitions as stage_transitions
from app.projects.scoping import AccessibleProjectID
from app.streams import progress as progress_queries

PROJECT_OWNED_MODELS = (
    "ProjectMember",
    "ProjectStage",
    "DocumentVersion",
    "Export",
    "Message",
    "AgentExecution",
    "ConversationState",
    "ProjectInvitation",
    "project_stage",
    "document_version",
    "agent_execution",
)
# The guard's own lookup, the caller's project list and project creation come before any
# project id has been checked; nothing else may.
UNSCOPED_ON_PURPOSE = {
    "get_membership",
    "list_for_user",
    "add_project",
    # An invitee is not a member yet: their invitations are found by their own verified e-mail.
    "list_received",
    "lock_received",
    "join_from_invitation",
    "count_owned",
    # The worker's own sweeps, across every project: expiry, giving up, strays, recovery.
    "expired_ready",
    "abandoned",
    "ready_among",
    "unfinished",
}


def _functions(module: ModuleType) -> list[tuple[str, typing.Any]]:
    return [
        (name, function)
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction)
        if function.__module__ == module.__name__
    ]


@pytest.mark.parametrize(
    "module",
    # Every module that queries a project-owned table.
    [
        project_repository,
        invitation_repository,
        message_repository,
        document_repository,
        export_repository,
        conversation_repository,
        memory_repository,
        stage_transitions,
        progress_queries,
    ],
    ids=lambda m: m.__name__,
)
def test_project_owned_queries_require_an_accessible_project_id(module: ModuleType) -> None:
    unscoped = []
    for name, function in _functions(module):
        source = inspect.getsource(function)
        if name in UNSCOPED_ON_PURPOSE or not any(
            model in source for model in PROJECT_OWNED_MODELS
        ):
            continue
        hints = typing.get_type_hints(function)
        if hints.get("project_id") is not AccessibleProjectID:
            unscoped.append(name)
    assert unscoped == []


def test_the_scan_sees_the_repositories() -> None:
    names = {
        name
        for module in (message_repository, document_repository, export_repository)
        for name, _ in _functions(module)
    }
    assert {"add", "latest", "older_than", "newer_than", "claim", "mark_ready"} <= names
