"""GitHub spec-kit: one feature folder ``specs/001-<slug>/`` with ``spec.md``, ``plan.md`` and
``tasks.md``, and the project's principles as ``.specify/memory/constitution.md``.

The headings are those of spec-kit's own templates (``spec-template.md``,
``plan-template.md``, ``tasks-template.md``, ``constitution-template.md``): "Feature
Specification", "User Scenarios & Testing", "Functional Requirements" as ``**FR-001**``,
"Success Criteria" as ``**SC-001**``, "Technical Context", "Phase N" groups of ``- [ ] T001``
tasks, "Core Principles" and "Governance".
"""

import re

from app.exports.layouts.common import (
    NOT_STATED,
    LayoutFiles,
    LayoutSource,
    Requirement,
    requirements,
    section_block,
)
from app.exports.outline import short_name
from app.projects.stages import DocumentType

CONSTITUTION_PATH = ".specify/memory/constitution.md"
# A plan's own "Phase 1: Orders" heading becomes spec-kit's "## Phase 1: Orders", not "Phase 1:
# Phase 1: Orders".
_PHASE_PREFIX = re.compile(r"^(?:phase|этап|фаза)\s*\d+\s*[:.\-–—]\s*", re.IGNORECASE)
_STORY_KEYS = ("user_journeys", "user_needs")
_OUTCOME_KEYS = ("goals_kpis",)
_EDGE_KEYS = ("dependencies_risks",)
_CONTEXT_KEYS = ("stack", "infrastructure", "integrations", "deployment")
_STRUCTURE_KEYS = ("components", "patterns")
_PRINCIPLE_KEYS = ("coding_standards", "test_strategy", "security_requirements", "data_protection")
_GOVERNANCE_KEYS = ("code_review", "definition_of_done")


def feature_folder(source: LayoutSource) -> str:
    return f"specs/001-{source.slug}"


def _stories(source: LayoutSource, files: LayoutFiles, path: str) -> list[str]:
    lines = ["## User Scenarios & Testing *(mandatory)*", ""]
    stories = [
        statement
        for section in source.sections(DocumentType.IDEA, _STORY_KEYS)
        for statement in section.statements
    ]
    if not stories:
        files.gap(path, "user stories", DocumentType.IDEA)
        lines += [NOT_STATED, ""]
    for number, story in enumerate(stories, start=1):
        lines += [f"### User Story {number} - {short_name(story)}", "", story, ""]
    edges = [
        item
        for section in source.sections(DocumentType.IDEA, _EDGE_KEYS)
        for item in section.statements
    ]
    if edges:
        lines += ["### Edge Cases", "", *[f"- {edge}" for edge in edges], ""]
    return lines


def _functional_requirements(source: LayoutSource, files: LayoutFiles, path: str) -> list[str]:
    lines = ["## Requirements *(mandatory)*", "", "### Functional Requirements", ""]
    found = [
        found for section in source.parts(DocumentType.SPECS) for found in requirements(section)
    ]
    if not found:
        files.gap(path, "functional requirements", DocumentType.SPECS)
        return [*lines, NOT_STATED, ""]
    for number, requirement in enumerate(found, start=1):
        lines.append(f"- **FR-{number:03d}**: {_must(requirement)}")
    return [*lines, ""]


def _must(requirement: Requirement) -> str:
    """spec-kit's "System MUST …", keeping the trigger the statement names."""
    must = f"System MUST {requirement.response}"
    if requirement.keyword is None:
        return must
    return (
        f"{requirement.keyword.capitalize()} {requirement.condition}, {must[0].lower()}{must[1:]}"
    )


def _success_criteria(source: LayoutSource, files: LayoutFiles, path: str) -> list[str]:
    lines = ["## Success Criteria *(mandatory)*", "", "### Measurable Outcomes", ""]
    outcomes = [
        item
        for section in source.sections(DocumentType.IDEA, _OUTCOME_KEYS)
        for item in section.statements
    ]
    if not outcomes:
        files.gap(path, "success criteria", DocumentType.IDEA)
        return [*lines, NOT_STATED, ""]
    return [*lines, *[f"- **SC-{n:03d}**: {item}" for n, item in enumerate(outcomes, 1)], ""]


def _spec(source: LayoutSource, files: LayoutFiles) -> str:
    folder = feature_folder(source)
    path = f"{folder}/spec.md"
    lines = [
        f"# Feature Specification: {source.project_name}",
        "",
        f"**Feature Branch**: `{folder.removeprefix('specs/')}`",
        f"**Created**: {source.day}",
        "**Status**: Draft",
        f"**Input**: {source.summary or NOT_STATED}",
        "",
    ]
    lines += _stories(source, files, path)
    lines += _functional_requirements(source, files, path)
    lines += _success_criteria(source, files, path)
    return "\n".join(lines)


def _copied(
    source: LayoutSource, files: LayoutFiles, path: str, heading: str, keys: tuple[str, ...]
) -> list[str]:
    found = source.sections(DocumentType.ARCHITECTURE, keys)
    if not found:
        files.gap(path, heading.casefold(), DocumentType.ARCHITECTURE)
        return [f"## {heading}", "", NOT_STATED, ""]
    lines = [f"## {heading}", ""]
    for section in found:
        lines += section_block(section, "###")
    return lines


def _plan(source: LayoutSource, files: LayoutFiles) -> str:
    folder = feature_folder(source)
    path = f"{folder}/plan.md"
    lines = [
        f"# Implementation Plan: {source.project_name}",
        "",
        f"**Branch**: `{folder.removeprefix('specs/')}` | **Date**: {source.day} | "
        "**Spec**: [spec.md](spec.md)",
        f"**Input**: Feature specification from `/{folder}/spec.md`",
        "",
        "## Summary",
        "",
        source.summary or NOT_STATED,
        "",
    ]
    lines += _copied(source, files, path, "Technical Context", _CONTEXT_KEYS)
    lines += ["## Constitution Check", "", f"See `/{CONSTITUTION_PATH}`.", ""]
    lines += _copied(source, files, path, "Project Structure", _STRUCTURE_KEYS)
    return "\n".join(lines)


def _tasks(source: LayoutSource, files: LayoutFiles) -> str:
    folder = feature_folder(source)
    path = f"{folder}/tasks.md"
    lines = [
        f"# Tasks: {source.project_name}",
        "",
        f"**Input**: Design documents from `/{folder}/`",
        "**Prerequisites**: plan.md (required), spec.md (required for user stories)",
        "",
        "## Format: `[ID] [P?] [Story] Description`",
        "",
    ]
    checklist = source.checklist()
    if not checklist:
        files.gap(path, "tasks", DocumentType.PLAN)
        lines += ["## Phase 1: Plan", "", NOT_STATED, ""]
        for section in source.parts(DocumentType.PLAN):
            lines += section_block(section, "###")
        return "\n".join(lines)
    phase_titles: list[str] = []
    for number, (section, item) in enumerate(checklist, start=1):
        title = _PHASE_PREFIX.sub("", section.title)
        if not phase_titles or phase_titles[-1] != title:
            if phase_titles:
                lines.append("")
            phase_titles.append(title)
            lines += [f"## Phase {len(phase_titles)}: {title}", ""]
        mark = "X" if item.done else " "
        lines.append(f"- [{mark}] T{number:03d} {item.text}")
    return "\n".join([*lines, ""])


def _constitution(source: LayoutSource, files: LayoutFiles) -> str:
    lines = [f"# {source.project_name} Constitution", "", "## Core Principles", ""]
    principles = source.sections(DocumentType.SPECS, _PRINCIPLE_KEYS)
    if not principles:
        files.gap(CONSTITUTION_PATH, "principles", DocumentType.SPECS)
        lines += [NOT_STATED, ""]
    for section in principles:
        lines += section_block(section, "###")
    lines += ["## Governance", ""]
    governance = source.sections(DocumentType.SPECS, _GOVERNANCE_KEYS)
    if not governance:
        files.gap(CONSTITUTION_PATH, "governance", DocumentType.SPECS)
        lines += [NOT_STATED, ""]
    for section in governance:
        lines += section_block(section, "###")
    specs = source.documents.get(DocumentType.SPECS)
    version = f"specs v{specs.version}" if specs else "none"
    lines.append(
        f"**Version**: {version} | **Ratified**: {source.day} | **Last Amended**: {source.day}"
    )
    return "\n".join([*lines, ""])


def render(source: LayoutSource) -> LayoutFiles:
    files = LayoutFiles()
    folder = feature_folder(source)
    files.files[f"{folder}/spec.md"] = _spec(source, files)
    files.files[f"{folder}/plan.md"] = _plan(source, files)
    files.files[f"{folder}/tasks.md"] = _tasks(source, files)
    files.files[CONSTITUTION_PATH] = _constitution(source, files)
    return files
