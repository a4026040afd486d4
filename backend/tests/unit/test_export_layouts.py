"""The layouts mapped from the documents: the structure each tool's templates define (headings,
task checkboxes, EARS phrases, OpenSpec blocks), AGENTS.md's rules, and gaps reported rather
than filled in."""

import io
import json
import re
import zipfile
from datetime import UTC, datetime
from uuid import UUID

import pytest

from app.exports.archive import ArchivedDocument, ArchiveRequest, build_archive, verify_archive
from app.exports.formats import ExportFormat
from app.exports.layouts.common import requirement
from app.exports.outline import outline
from app.projects.stages import DocumentType
from tests.export_documents import DOCUMENTS, PLAN_WITHOUT_CHECKLIST

EARS = re.compile(r"^(?:(?:WHEN|WHILE) [^,]+, |IF [^,]+, THEN )?THE SYSTEM SHALL \S.*$")
SLUG = "corner-bakery"


def _request(
    export_format: ExportFormat, documents: dict[DocumentType, str] = DOCUMENTS
) -> ArchiveRequest:
    return ArchiveRequest(
        export_id=UUID("01a216b0-f8ec-7a9f-a728-591f4f5214f0"),
        project_id=UUID("01a216b0-f832-7132-9e92-d642360ba8f3"),
        project_name="Corner Bakery",
        language="en",
        requested_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        generated_at=datetime(2026, 12, 3, 7, 1, tzinfo=UTC),
        documents={
            kind: ArchivedDocument(version=2, content=text) for kind, text in documents.items()
        },
        export_format=export_format,
    )


def _files(
    export_format: ExportFormat, documents: dict[DocumentType, str] = DOCUMENTS
) -> dict[str, str]:
    built = build_archive(_request(export_format, documents))
    verify_archive(built.data, built.manifest)
    archive = zipfile.ZipFile(io.BytesIO(built.data))
    return {
        name.removeprefix(f"{SLUG}/"): archive.read(name).decode() for name in archive.namelist()
    }


def _headings(text: str, level: int) -> list[str]:
    return [line[level + 1 :] for line in text.splitlines() if line.startswith("#" * level + " ")]


def _gaps(files: dict[str, str]) -> list[dict[str, str | None]]:
    gaps: list[dict[str, str | None]] = json.loads(files["manifest.json"])["gaps"]
    return gaps


# --- reading the documents ----------------------------------------------------------------


def test_an_outline_keys_sections_by_their_marker_and_skips_fenced_code() -> None:
    read = outline(
        "# Plan\n\n<!-- section:summary -->\nIntro.\n\n## Phases\n<!-- section:phases -->\n"
        "- [ ] first\n### Later\n- [x] second\n```\n## not a heading\n- [ ] not a task\n```\n"
    )
    assert read.title == "Plan"
    assert [(s.key, s.title) for s in read.parts] == [("summary", "Plan"), ("phases", "Phases")]
    assert [(section.title, item.text, item.done) for section, item in read.checklist] == [
        ("Phases", "first", False),
        ("Later", "second", True),
    ]
    assert read.summary == "Intro."


def test_an_item_s_trace_id_follows_its_words_so_its_trigger_stays_first() -> None:
    specs = (
        "# Specs\n\n## Security\n<!-- section:security_requirements -->\n"
        "- **R-3** When a customer signs in, the system shall send a code → G-1, G-2\n"
        "- **R-4** Passwords are never stored\n- Not traced\n"
    )
    section = outline(specs).section("security_requirements")
    assert section is not None
    assert section.items == (
        "When a customer signs in, the system shall send a code (R-3 → G-1, G-2)",
        "Passwords are never stored (R-4)",
        "Not traced",
    )
    assert requirement(section.items[0]).ears == (
        "WHEN a customer signs in, THE SYSTEM SHALL send a code (R-3 → G-1, G-2)"
    )


@pytest.mark.parametrize(
    ("statement", "ears"),
    [
        ("Passwords are never stored", "THE SYSTEM SHALL satisfy: Passwords are never stored"),
        ("The system must log every sign-in", "THE SYSTEM SHALL log every sign-in"),
        (
            "When a customer signs in, the system shall send a code",
            "WHEN a customer signs in, THE SYSTEM SHALL send a code",
        ),
        (
            "If payment fails, keep the order",
            "IF payment fails, THEN THE SYSTEM SHALL satisfy: keep the order",
        ),
        ("Личные данные хранятся год", "THE SYSTEM SHALL satisfy: Личные данные хранятся год"),
    ],
)
def test_a_statement_becomes_ears_keeping_its_own_trigger(statement: str, ears: str) -> None:
    assert requirement(statement).ears == ears
    assert EARS.match(requirement(statement).ears)


# --- each layout --------------------------------------------------------------------------


def test_the_jeex_layout_adds_nothing_and_reports_no_gaps() -> None:
    files = _files(ExportFormat.JEEX)
    assert set(files) == {
        "README.md",
        "01-idea/idea.md",
        "02-specs/specs.md",
        "03-architecture/architecture.md",
        "04-plan/plan.md",
        "traceability.md",
        "manifest.json",
    }
    manifest = json.loads(files["manifest.json"])
    assert manifest["layout"] == "jeex"
    assert manifest["gaps"] == []


def test_agents_md_says_what_the_project_is_where_documents_live_and_how_to_work() -> None:
    files = _files(ExportFormat.AGENTS)
    agents = files["AGENTS.md"]
    assert agents.startswith("# AGENTS.md: Corner Bakery\n")
    assert _headings(agents, 2) == [
        "Project",
        "Documents",
        "Stack and conventions",
        "How to work through the plan",
    ]
    project = agents.split("## Documents")[0]
    assert "Neighbourhood bakeries take pre-orders" in project
    for path in ("01-idea/idea.md", "02-specs/specs.md", "03-architecture/architecture.md"):
        assert f"[`{path}`]({path}) (" in agents
        assert path in files  # every link points at a file of the archive
    stack = agents.split("## Stack and conventions")[1].split("## How to work")[0]
    assert "- PostgreSQL 18" in stack
    assert "- Router, service, repository in each domain package" in stack
    workflow = agents.split("## How to work through the plan")[1]
    assert "`04-plan/plan.md`" in workflow
    assert "- [ ] Create the orders table and its migration" in workflow
    assert "- [x] Show tomorrow's orders to the baker" in workflow
    assert _gaps(files) == []


def test_spec_kit_files_follow_the_spec_kit_templates() -> None:
    files = _files(ExportFormat.SPEC_KIT)
    folder = "specs/001-corner-bakery"
    spec, plan, tasks = (files[f"{folder}/{name}.md"] for name in ("spec", "plan", "tasks"))
    assert _headings(spec, 1) == ["Feature Specification: Corner Bakery"]
    assert _headings(spec, 2) == [
        "User Scenarios & Testing *(mandatory)*",
        "Requirements *(mandatory)*",
        "Success Criteria *(mandatory)*",
    ]
    assert "**Feature Branch**: `001-corner-bakery`" in spec
    assert "### User Story 1 - A customer orders two croissants" in spec
    requirements = re.findall(r"^- \*\*FR-(\d{3})\*\*: (.+)$", spec, re.MULTILINE)
    assert [number for number, _ in requirements] == [f"{n:03d}" for n in range(1, 8)]
    assert all("System MUST" in text or "system MUST" in text for _, text in requirements)
    assert "- **SC-001**: 30% less unsold bread after three months" in spec

    assert _headings(plan, 1) == ["Implementation Plan: Corner Bakery"]
    assert {"Summary", "Technical Context", "Constitution Check", "Project Structure"} <= set(
        _headings(plan, 2)
    )
    assert "- Python 3.13 with FastAPI" in plan

    assert _headings(tasks, 1) == ["Tasks: Corner Bakery"]
    assert "## Format: `[ID] [P?] [Story] Description`" in tasks
    assert _headings(tasks, 2)[1:] == ["Phase 1: Orders", "Phase 2: Bakers"]
    assert re.findall(r"^- \[[ X]\] (T\d{3}) ", tasks, re.MULTILINE) == ["T001", "T002", "T003"]
    assert "- [X] T003 Show tomorrow's orders to the baker" in tasks

    constitution = files[".specify/memory/constitution.md"]
    assert _headings(constitution, 1) == ["Corner Bakery Constitution"]
    assert _headings(constitution, 2) == ["Core Principles", "Governance"]
    assert "### Coding standards" in constitution
    assert re.search(
        r"^\*\*Version\*\*: .+ \| \*\*Ratified\*\*: 2026-12-03 \| ", constitution, re.M
    )
    # The specs say nothing about code review or a definition of done.
    assert _gaps(files) == [
        {"file": ".specify/memory/constitution.md", "missing": "governance", "source": "specs"}
    ]


def test_kiro_requirements_are_ears_and_tasks_are_checkboxes() -> None:
    files = _files(ExportFormat.KIRO)
    folder = ".kiro/specs/corner-bakery"
    requirements = files[f"{folder}/requirements.md"]
    assert _headings(requirements, 1) == ["Requirements Document"]
    assert _headings(requirements, 2) == ["Introduction", "Requirements"]
    assert _headings(requirements, 3)[:2] == [
        "Requirement 1: Coding standards",
        "Requirement 2: Security requirements",
    ]
    criteria = re.findall(r"^\d+\. (.+)$", requirements, re.MULTILINE)
    assert len(criteria) == 7
    assert all(EARS.match(criterion) for criterion in criteria), criteria
    assert "WHEN a customer signs in, THE SYSTEM SHALL send a one-time code by e-mail" in criteria
    assert requirements.count("#### Acceptance Criteria") == 4

    design = files[f"{folder}/design.md"]
    assert _headings(design, 2) == [
        "Overview",
        "Architecture",
        "Components and Interfaces",
        "Data Models",
        "Error Handling",
        "Testing Strategy",
    ]
    tasks = files[f"{folder}/tasks.md"]
    assert tasks.splitlines() == [
        "# Implementation Plan",
        "",
        "- [ ] 1. Phase 1: Orders",
        "  - [ ] 1.1 Create the orders table and its migration",
        "  - [ ] 1.2 Accept a pre-order through the API",
        "",
        "- [x] 2. Phase 2: Bakers",
        "  - [x] 2.1 Show tomorrow's orders to the baker",
    ]
    for name, title in (("product", "Product Overview"), ("tech", "Technology Stack")):
        steering = files[f".kiro/steering/{name}.md"]
        assert steering.startswith("---\ninclusion: always\n---\n\n# " + title + "\n")
    assert "- `orders`: pre-orders and pick-up slots" in files[".kiro/steering/structure.md"]
    # No document has data models or error handling: said, not invented.
    assert _gaps(files) == [
        {"file": f"{folder}/design.md", "missing": "data models", "source": "architecture"},
        {"file": f"{folder}/design.md", "missing": "error handling", "source": "architecture"},
    ]
    assert design.count("Not stated in the project's documents") == 2


def test_openspec_specs_have_purpose_requirements_and_scenarios() -> None:
    files = _files(ExportFormat.OPENSPEC)
    specs = sorted(path for path in files if path.startswith("openspec/specs/"))
    assert specs == [
        "openspec/specs/coding-standards/spec.md",
        "openspec/specs/data-protection/spec.md",
        "openspec/specs/security-requirements/spec.md",
        "openspec/specs/test-strategy/spec.md",
    ]
    spec = files["openspec/specs/security-requirements/spec.md"]
    assert _headings(spec, 2) == ["Purpose", "Requirements"]
    purpose = spec.split("## Purpose\n")[1].split("\n## ")[0].strip()
    assert len(purpose) >= 50
    blocks = spec.split("### Requirement: ")[1:]
    assert len(blocks) == 3
    for block in blocks:
        name, statement = block.splitlines()[:2]
        assert re.search(r"\bSHALL\b", statement)
        assert f"#### Scenario: {name}" in block
        assert re.search(r"^- \*\*WHEN\*\* \S", block, re.MULTILINE)
        assert re.search(r"^- \*\*THEN\*\* \S", block, re.MULTILINE)
    assert "- **WHEN** a customer signs in\n" in spec
    project = files["openspec/project.md"]
    assert {"Purpose", "Tech Stack", "Project Conventions", "Domain Context"} <= set(
        _headings(project, 2)
    )


def test_a_plan_without_checklist_keeps_what_it_says_and_reports_the_missing_tasks() -> None:
    documents = {**DOCUMENTS, DocumentType.PLAN: PLAN_WITHOUT_CHECKLIST}
    for export_format, path in (
        (ExportFormat.SPEC_KIT, "specs/001-corner-bakery/tasks.md"),
        (ExportFormat.KIRO, ".kiro/specs/corner-bakery/tasks.md"),
        (ExportFormat.AGENTS, "AGENTS.md"),
    ):
        files = _files(export_format, documents)
        assert {"file": path, "missing": "tasks", "source": "plan"} in _gaps(files)
        assert "- [ ]" not in files[path]
        if export_format is not ExportFormat.AGENTS:
            assert "- Build the orders API" in files[path]


def test_a_project_without_specs_has_no_openspec_specs_and_says_so() -> None:
    documents = {DocumentType.IDEA: DOCUMENTS[DocumentType.IDEA]}
    files = _files(ExportFormat.OPENSPEC, documents)
    assert not [path for path in files if path.startswith("openspec/specs/")]
    assert {"file": "openspec/specs", "missing": "requirements", "source": "specs"} in _gaps(files)


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_every_layout_packs_the_same_bytes_every_time_and_lists_its_files(
    export_format: ExportFormat,
) -> None:
    first = build_archive(_request(export_format))
    assert build_archive(_request(export_format)).data == first.data
    manifest = first.manifest
    assert manifest.layout is export_format
    listed = {item.path for item in manifest.files if item.status == "present"}
    archive = zipfile.ZipFile(io.BytesIO(first.data))
    assert {name.removeprefix(f"{SLUG}/") for name in archive.namelist()} == listed | {
        "manifest.json"
    }
