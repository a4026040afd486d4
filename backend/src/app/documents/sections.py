"""The sections each document is expected to have, defined here and nowhere else.

Documents are written in the project's language, so a heading's text says nothing reliable
about which section it opens. Each expected section therefore has a stable key, and the
document carries an invisible marker right under the section's heading:
``<!-- section:<key> -->``. The marker is an HTML comment, so the preview (which strips
comments) and any Markdown viewer hide it.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from app.projects.stages import DocumentType

SECTION_KEY_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")

# Tolerant on purpose: models and people add spaces or change the case of the word "section"
# when they write the marker by hand; the key itself is normalised to lower case.
_MARKER = re.compile(r"<!--\s*section\s*:\s*([A-Za-z0-9_]+)\s*-->", re.IGNORECASE)


class ItemKind(StrEnum):
    """The traceable items a section lists, each kind with its id prefix (``R-12``)."""

    GOAL = "G"
    REQUIREMENT = "R"
    COMPONENT = "C"
    DECISION = "D"
    TASK = "T"
    MILESTONE = "M"


@dataclass(frozen=True)
class SectionSpec:
    """One expected section: a stable key, an English title for prompts and reports, and the
    kind of traceable item its list entries are (None: its lists are plain prose)."""

    key: str
    title: str
    items: ItemKind | None = None


# Grouped by the expert who owns the section (see the stage table of the product brief), so
# that every expert has sections to write and the PM knows whom to ask for a missing one.
REQUIRED_SECTIONS: Mapping[DocumentType, tuple[SectionSpec, ...]] = MappingProxyType(
    {
        DocumentType.IDEA: (
            # Product Manager: version 1 is the user's raw idea, restructured.
            SectionSpec("summary", "Summary"),
            # Business Analyst
            SectionSpec("problem", "Problem"),
            SectionSpec("audience", "Target audience", ItemKind.GOAL),
            SectionSpec("goals_kpis", "Goals and KPIs", ItemKind.GOAL),
            SectionSpec("monetisation", "Monetisation"),
            # Venture Expert
            SectionSpec("market", "Market and competition"),
            SectionSpec("scale_potential", "Scale potential"),
            SectionSpec("investability", "Investability"),
            # TRIZ Expert
            SectionSpec("contradictions", "Contradictions and inventive principles"),
            SectionSpec("non_obvious_solutions", "Non-obvious solutions"),
            # Design Thinker
            SectionSpec("user_needs", "User needs and empathy"),
            SectionSpec("user_journeys", "User journeys"),
            SectionSpec("ux_principles", "UX principles"),
            # System Analyst
            SectionSpec("system_context", "System context and relationships"),
            SectionSpec("dependencies_risks", "Hidden dependencies and critical points"),
        ),
        DocumentType.SPECS: (
            # Engineering Standards
            SectionSpec("coding_standards", "Coding standards", ItemKind.REQUIREMENT),
            SectionSpec("code_review", "Code review", ItemKind.REQUIREMENT),
            SectionSpec("definition_of_done", "Definition of Done", ItemKind.REQUIREMENT),
            # QA Expert
            SectionSpec("test_strategy", "Test strategy", ItemKind.REQUIREMENT),
            SectionSpec("test_levels", "Test levels", ItemKind.REQUIREMENT),
            SectionSpec("coverage", "Coverage targets", ItemKind.REQUIREMENT),
            # Security Expert
            SectionSpec("security_requirements", "Security requirements", ItemKind.REQUIREMENT),
            SectionSpec("security_audit", "Security audit", ItemKind.REQUIREMENT),
            SectionSpec("data_protection", "Data protection", ItemKind.REQUIREMENT),
        ),
        DocumentType.ARCHITECTURE: (
            # Solution Architect
            SectionSpec("stack", "Technology stack", ItemKind.COMPONENT),
            SectionSpec("patterns", "Architectural patterns", ItemKind.DECISION),
            SectionSpec("components", "Components", ItemKind.COMPONENT),
            SectionSpec("integrations", "Integrations", ItemKind.COMPONENT),
            SectionSpec("trade_offs", "Trade-offs and decisions", ItemKind.DECISION),
            # DevOps Expert
            SectionSpec("infrastructure", "Infrastructure", ItemKind.COMPONENT),
            SectionSpec("ci_cd", "CI/CD", ItemKind.COMPONENT),
            SectionSpec("monitoring", "Monitoring and observability", ItemKind.COMPONENT),
            SectionSpec("deployment", "Deployment", ItemKind.COMPONENT),
            # Performance Expert
            SectionSpec("scalability", "Scalability", ItemKind.DECISION),
            SectionSpec("bottlenecks", "Bottlenecks", ItemKind.DECISION),
            SectionSpec("optimisation", "Performance optimisation", ItemKind.DECISION),
        ),
        DocumentType.PLAN: (
            # Project Planner
            SectionSpec("phases", "Phases"),
            SectionSpec("tasks", "Tasks", ItemKind.TASK),
            SectionSpec("milestones", "Milestones", ItemKind.MILESTONE),
            SectionSpec("acceptance_criteria", "Acceptance criteria"),
            # Scrum Master
            SectionSpec("sprints", "Sprints"),
            SectionSpec("ceremonies", "Ceremonies"),
            SectionSpec("velocity", "Velocity and capacity"),
            # Risk Manager
            SectionSpec("risks", "Risks"),
            SectionSpec("mitigations", "Mitigations"),
            SectionSpec("dependencies", "Dependencies"),
        ),
    }
)


def section_marker(key: str) -> str:
    """The marker that goes on the line right under the heading of section ``key``."""
    if SECTION_KEY_PATTERN.fullmatch(key) is None:
        raise ValueError(f"not a section key: {key!r}")
    return f"<!-- section:{key} -->"


def present_section_keys(markdown: str) -> set[str]:
    """Every section key marked in ``markdown``, known to the checklist or not."""
    return {match.group(1).lower() for match in _MARKER.finditer(markdown)}
