"""Kiro: a spec in ``.kiro/specs/<slug>/`` (requirements, design, tasks) and the steering files
``.kiro/steering/{product,tech,structure}.md``.

The shapes are those of Kiro's spec documents: "Requirements Document" with numbered
"### Requirement N" blocks whose "#### Acceptance Criteria" are EARS statements ("WHEN …, THE
SYSTEM SHALL …" / "THE SYSTEM SHALL …"); "Design Document" with Overview, Architecture,
Components and Interfaces, Data Models, Error Handling and Testing Strategy; an
"Implementation Plan" of ``- [ ] 1.`` tasks with ``- [ ] 1.1`` sub-tasks. Steering files carry
``inclusion: always`` front matter, as Kiro's foundational steering files do.
"""

from app.exports.layouts.common import (
    NOT_STATED,
    LayoutFiles,
    LayoutSource,
    requirements,
    section_block,
)
from app.exports.outline import Section
from app.projects.stages import DocumentType

STEERING = ".kiro/steering"
_FRONT_MATTER = ["---", "inclusion: always", "---", ""]
_DESIGN: tuple[tuple[str, DocumentType, tuple[str, ...]], ...] = (
    (
        "Architecture",
        DocumentType.ARCHITECTURE,
        ("stack", "patterns", "trade_offs", "infrastructure", "deployment", "ci_cd"),
    ),
    ("Components and Interfaces", DocumentType.ARCHITECTURE, ("components", "integrations")),
    ("Data Models", DocumentType.ARCHITECTURE, ("data_models",)),
    ("Error Handling", DocumentType.ARCHITECTURE, ("error_handling",)),
    ("Testing Strategy", DocumentType.SPECS, ("test_strategy", "test_levels", "coverage")),
)
_TECH_KEYS = ("stack", "infrastructure", "ci_cd", "deployment", "monitoring")
_TECH_SPECS_KEYS = ("coding_standards",)
_STRUCTURE_KEYS = ("components", "patterns")


def spec_folder(source: LayoutSource) -> str:
    return f".kiro/specs/{source.slug}"


def _requirements(source: LayoutSource, files: LayoutFiles, path: str) -> str:
    lines = ["# Requirements Document", "", "## Introduction", "", source.summary or NOT_STATED]
    lines += ["", "## Requirements", ""]
    number = 0
    for section in source.parts(DocumentType.SPECS):
        found = requirements(section)
        if not found:
            continue
        number += 1
        lines += [f"### Requirement {number}: {section.title}", "", "#### Acceptance Criteria", ""]
        lines += [f"{n}. {item.ears}" for n, item in enumerate(found, start=1)]
        lines.append("")
    if number == 0:
        files.gap(path, "requirements", DocumentType.SPECS)
        lines += [NOT_STATED, ""]
    return "\n".join(lines)


def _blocks(
    source: LayoutSource,
    files: LayoutFiles,
    path: str,
    heading: str,
    found: list[Section],
    document_type: DocumentType,
) -> list[str]:
    if not found:
        files.gap(path, heading.lstrip("# ").casefold(), document_type)
        return [heading, "", NOT_STATED, ""]
    lines = [heading, ""]
    for section in found:
        lines += section_block(section, "#" * (heading.count("#") + 1))
    return lines


def _design(source: LayoutSource, files: LayoutFiles, path: str) -> str:
    architecture = source.outline(DocumentType.ARCHITECTURE)
    overview = architecture.summary if architecture else None
    lines = ["# Design Document", "", "## Overview", "", overview or NOT_STATED, ""]
    if overview is None:
        files.gap(path, "overview", DocumentType.ARCHITECTURE)
    for heading, document_type, keys in _DESIGN:
        found = source.sections(document_type, keys)
        lines += _blocks(source, files, path, f"## {heading}", found, document_type)
    return "\n".join(lines)


def _tasks(source: LayoutSource, files: LayoutFiles, path: str) -> str:
    lines = ["# Implementation Plan", ""]
    checklist = source.checklist()
    if not checklist:
        files.gap(path, "tasks", DocumentType.PLAN)
        lines += [NOT_STATED, ""]
        for section in source.parts(DocumentType.PLAN):
            lines += section_block(section, "##")
        return "\n".join(lines)
    groups: list[tuple[Section, list[str]]] = []
    for section, item in checklist:
        if not groups or groups[-1][0] is not section:
            groups.append((section, []))
        mark = "x" if item.done else " "
        groups[-1][1].append(f"  - [{mark}] {len(groups)}.{len(groups[-1][1]) + 1} {item.text}")
    for number, (section, subtasks) in enumerate(groups, start=1):
        done = all(line.startswith("  - [x]") for line in subtasks)
        lines += [f"- [{'x' if done else ' '}] {number}. {section.title}", *subtasks, ""]
    return "\n".join(lines)


def _steering(title: str, blocks: list[str]) -> str:
    return "\n".join([*_FRONT_MATTER, f"# {title}", "", *blocks])


def render(source: LayoutSource) -> LayoutFiles:
    files = LayoutFiles()
    folder = spec_folder(source)
    files.files[f"{folder}/requirements.md"] = _requirements(
        source, files, f"{folder}/requirements.md"
    )
    files.files[f"{folder}/design.md"] = _design(source, files, f"{folder}/design.md")
    files.files[f"{folder}/tasks.md"] = _tasks(source, files, f"{folder}/tasks.md")
    product = f"{STEERING}/product.md"
    files.files[product] = _steering(
        "Product Overview",
        _blocks(
            source,
            files,
            product,
            "## Product",
            list(source.parts(DocumentType.IDEA)),
            DocumentType.IDEA,
        ),
    )
    tech = f"{STEERING}/tech.md"
    found = source.sections(DocumentType.ARCHITECTURE, _TECH_KEYS)
    found += source.sections(DocumentType.SPECS, _TECH_SPECS_KEYS)
    files.files[tech] = _steering(
        "Technology Stack",
        _blocks(source, files, tech, "## Stack", found, DocumentType.ARCHITECTURE),
    )
    structure = f"{STEERING}/structure.md"
    files.files[structure] = _steering(
        "Project Structure",
        _blocks(
            source,
            files,
            structure,
            "## Structure",
            source.sections(DocumentType.ARCHITECTURE, _STRUCTURE_KEYS),
            DocumentType.ARCHITECTURE,
        ),
    )
    return files
