"""OpenSpec: ``openspec/project.md`` and one ``openspec/specs/<capability>/spec.md`` per
section of the specs document.

The spec shape is the one OpenSpec 1.13's validator enforces (``openspec validate --strict``):
``## Purpose`` of at least 50 characters, ``## Requirements`` holding uniquely named
``### Requirement: …`` blocks whose text contains SHALL, each with at least one
``#### Scenario: …`` of ``- **WHEN** …`` / ``- **THEN** …`` bullets. ``project.md`` follows
the sections of OpenSpec's project template (Purpose, Tech Stack, Project Conventions, Domain
Context, Important Constraints, External Dependencies).
"""

import re

from app.exports.layouts.common import (
    NOT_STATED,
    LayoutFiles,
    LayoutSource,
    Requirement,
    requirements,
    section_block,
    unique_names,
)
from app.exports.outline import Section
from app.projects.stages import DocumentType

PROJECT_PATH = "openspec/project.md"
SPECS_FOLDER = "openspec/specs"

_CAPABILITY_CHARS = re.compile(r"[^a-z0-9]+")
_PROJECT_SECTIONS: tuple[tuple[str, DocumentType, tuple[str, ...]], ...] = (
    ("Tech Stack", DocumentType.ARCHITECTURE, ("stack",)),
    ("Domain Context", DocumentType.IDEA, ("problem", "audience", "system_context")),
    ("Important Constraints", DocumentType.SPECS, ("security_requirements", "data_protection")),
    ("External Dependencies", DocumentType.ARCHITECTURE, ("integrations",)),
)
_CONVENTIONS: tuple[tuple[str, DocumentType, tuple[str, ...]], ...] = (
    ("Code Style", DocumentType.SPECS, ("coding_standards",)),
    ("Architecture Patterns", DocumentType.ARCHITECTURE, ("patterns",)),
    ("Testing Strategy", DocumentType.SPECS, ("test_strategy", "test_levels", "coverage")),
    ("Git Workflow", DocumentType.SPECS, ("code_review",)),
)


def capability_name(section: Section, number: int) -> str:
    """A kebab-case capability id: the section's key, else its title in ASCII, else its
    position (a title in Cyrillic has no ASCII form)."""
    source = section.key or section.title.casefold()
    name = _CAPABILITY_CHARS.sub("-", source.replace("_", "-")).strip("-")
    return name or f"requirements-{number}"


def _requirement_block(name: str, requirement: Requirement, section: Section) -> list[str]:
    if requirement.keyword is None:
        statement = f"The system SHALL {requirement.response}"
        when = f'the project is checked against the section "{section.title}"'
    else:
        statement = f"{requirement.keyword} {requirement.condition}, the system SHALL "
        statement += requirement.response
        when = requirement.condition or ""
    return [
        f"### Requirement: {name}",
        statement,
        "",
        f"#### Scenario: {name}",
        f"- **WHEN** {when}",
        f"- **THEN** the system SHALL {requirement.response}",
        "",
    ]


def _spec(source: LayoutSource, section: Section, found: list[Requirement]) -> str:
    purpose = (
        f'Requirements from the section "{section.title}" of the specifications of '
        f"{source.project_name}."
    )
    if section.paragraphs and section.items:
        purpose += f" {section.paragraphs[0]}"
    lines = [f"# {section.title}", "", "## Purpose", purpose, "", "## Requirements", ""]
    names = unique_names([requirement.name for requirement in found])
    for name, requirement in zip(names, found, strict=True):
        lines += _requirement_block(name, requirement, section)
    return "\n".join(lines)


def _project(source: LayoutSource, files: LayoutFiles) -> str:
    lines = [f"# Project Context: {source.project_name}", "", "## Purpose", ""]
    idea = source.parts(DocumentType.IDEA)
    lines += [source.summary or NOT_STATED, ""]
    if not idea:
        files.gap(PROJECT_PATH, "purpose", DocumentType.IDEA)
    for heading, document_type, keys in _PROJECT_SECTIONS[:1]:
        lines += _grouped(source, files, f"## {heading}", document_type, keys)
    lines += ["## Project Conventions", ""]
    for heading, document_type, keys in _CONVENTIONS:
        lines += _grouped(source, files, f"### {heading}", document_type, keys)
    for heading, document_type, keys in _PROJECT_SECTIONS[1:]:
        lines += _grouped(source, files, f"## {heading}", document_type, keys)
    return "\n".join(lines)


def _grouped(
    source: LayoutSource,
    files: LayoutFiles,
    heading: str,
    document_type: DocumentType,
    keys: tuple[str, ...],
) -> list[str]:
    found = source.sections(document_type, keys)
    if not found:
        files.gap(PROJECT_PATH, heading.lstrip("# ").casefold(), document_type)
        return [heading, "", NOT_STATED, ""]
    lines = [heading, ""]
    for section in found:
        lines += section_block(section, "#" * (heading.count("#") + 1))
    return lines


def render(source: LayoutSource) -> LayoutFiles:
    files = LayoutFiles()
    files.files[PROJECT_PATH] = _project(source, files)
    used: set[str] = set()
    for number, section in enumerate(source.parts(DocumentType.SPECS), start=1):
        found = requirements(section)
        if not found or not section.title:
            continue
        name = capability_name(section, number)
        while name in used:
            name = f"{name}-{number}"
        used.add(name)
        files.files[f"{SPECS_FOLDER}/{name}/spec.md"] = _spec(source, section, found)
    if not used:
        files.gap(SPECS_FOLDER, "requirements", DocumentType.SPECS)
    return files
