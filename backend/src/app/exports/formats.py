"""The layouts an export can be packed in: the JEEX folders, or the folders a coding agent or
a spec-driven tool reads."""

from enum import StrEnum


class ExportFormat(StrEnum):
    JEEX = "jeex"
    AGENTS = "agents"
    SPEC_KIT = "spec-kit"
    KIRO = "kiro"
    OPENSPEC = "openspec"
