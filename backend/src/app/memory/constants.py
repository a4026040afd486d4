"""Names shared by the memory's writers and readers."""

import re
import uuid
from enum import StrEnum


class MemorySource(StrEnum):
    """Where a chunk came from."""

    DOCUMENT = "document"
    """A version of one of the project's documents; replaced by the next version."""
    SECTION = "section"
    """An expert's section as written in the chat, before the PM integrated it."""
    MESSAGE = "message"
    """A user's message (answers and free text)."""


# Payload keys. ``project_id`` and ``language`` are in every point and in every search filter.
PROJECT_ID = "project_id"
LANGUAGE = "language"
SOURCE = "source"
DOCUMENT_TYPE = "document_type"
VERSION = "version"
CHUNK_HASH = "chunk_hash"
HEADING = "heading"
TEXT = "text"
AUTHOR = "author"

# Point ids are derived from what a point is, so writing the same chunk again overwrites it
# instead of adding a copy; the namespace only keeps these ids apart from any other UUIDv5.
POINT_ID_NAMESPACE = uuid.UUID("0f5d8a52-7c1e-4d5e-9a43-6b2f1c9e8d70")

# The projects table stores ISO 639-1 codes; anything else never reaches a payload.
LANGUAGE_CODE = re.compile(r"[a-z]{2}")
