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

# Version numbers are PostgreSQL integers: a larger one can name no version, and must be
# refused as input rather than reach the database.
MAX_VERSION = 2_147_483_647
