"""What the documents domain needs from the composition root."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType

StaleAnnouncer = Callable[
    [AsyncSession, AccessibleProjectID, DocumentType, int, Sequence[str]], Awaitable[None]
]
"""Told, in the writing transaction, that a person's new version made later items stale: the
conversation (a domain above this one) says so in the chat and offers the update."""


class DocumentResources(Protocol):
    @property
    def announce_stale(self) -> StaleAnnouncer: ...
