"""The four documents of a project, in the order their stages run."""

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
