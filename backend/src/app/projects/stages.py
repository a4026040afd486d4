"""The four stages of a project, in the order they run; each writes the document of its name."""

from enum import StrEnum


class DocumentType(StrEnum):
    IDEA = "idea"
    SPECS = "specs"
    ARCHITECTURE = "architecture"
    PLAN = "plan"


STAGE_ORDER: tuple[DocumentType, ...] = (
    DocumentType.IDEA,
    DocumentType.SPECS,
    DocumentType.ARCHITECTURE,
    DocumentType.PLAN,
)
