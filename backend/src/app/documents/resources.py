"""What the documents domain needs from the composition root."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

PersonVersionHook = Callable[
    [AsyncSession, Queue, AccessibleProjectID, DocumentType, int, Sequence[str]], Awaitable[None]
]
"""Told, in the writing transaction, of every version a person wrote (a manual edit or a
rollback), with the later items it made stale. Domains above this one act on it: the version
is indexed into project memory, and the conversation says in the chat what went stale."""


class DocumentResources(Protocol):
    @property
    def after_person_version(self) -> PersonVersionHook: ...
