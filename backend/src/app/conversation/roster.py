"""Who takes part in the conversation: the Product Manager and the experts of each stage.

Adding an expert means adding one entry here and its prompt file in ``prompts/agents/``.
"""

from dataclasses import dataclass

from app.llm.constants import AgentName
from app.projects.stages import DocumentType


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: AgentName
    role: str
    stage: DocumentType | None
    focus: str
    sections: tuple[str, ...]
    """Keys (see documents/sections.py) of the stage document's sections this agent owns."""


PRODUCT_MANAGER = AgentSpec(
    AgentName.PRODUCT_MANAGER,
    "Product Manager",
    None,
    "coordinates the experts, decides who speaks, integrates their work into the documents",
    ("summary",),
)

EXPERTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        AgentName.BUSINESS_ANALYST,
        "Business Analyst",
        DocumentType.IDEA,
        "problem, audience, goals, KPIs, monetisation",
        ("problem", "audience", "goals_kpis", "monetisation"),
    ),
    AgentSpec(
        AgentName.VENTURE_EXPERT,
        "Venture Expert",
        DocumentType.IDEA,
        "market, scale potential, investability",
        ("market", "scale_potential", "investability"),
    ),
    AgentSpec(
        AgentName.TRIZ_EXPERT,
        "TRIZ Expert",
        DocumentType.IDEA,
        "contradictions, inventive principles, non-obvious solutions",
        ("contradictions", "non_obvious_solutions"),
    ),
    AgentSpec(
        AgentName.DESIGN_THINKER,
        "Design Thinker",
        DocumentType.IDEA,
        "user empathy, journeys, UX",
        ("user_needs", "user_journeys", "ux_principles"),
    ),
    AgentSpec(
        AgentName.SYSTEM_ANALYST,
        "System Analyst",
        DocumentType.IDEA,
        "relationships, hidden dependencies, critical points",
        ("system_context", "dependencies_risks"),
    ),
    AgentSpec(
        AgentName.ENGINEERING_STANDARDS,
        "Engineering Standards Expert",
        DocumentType.SPECS,
        "coding standards, code review, Definition of Done",
        ("coding_standards", "code_review", "definition_of_done"),
    ),
    AgentSpec(
        AgentName.QA_EXPERT,
        "QA Expert",
        DocumentType.SPECS,
        "test strategy, levels, coverage",
        ("test_strategy", "test_levels", "coverage"),
    ),
    AgentSpec(
        AgentName.SECURITY_EXPERT,
        "Security Expert",
        DocumentType.SPECS,
        "security requirements, audit, data protection",
        ("security_requirements", "security_audit", "data_protection"),
    ),
    AgentSpec(
        AgentName.SOLUTION_ARCHITECT,
        "Solution Architect",
        DocumentType.ARCHITECTURE,
        "stack, patterns, components, integrations, trade-offs",
        ("stack", "patterns", "components", "integrations", "trade_offs"),
    ),
    AgentSpec(
        AgentName.DEVOPS_EXPERT,
        "DevOps Expert",
        DocumentType.ARCHITECTURE,
        "infrastructure, CI/CD, monitoring, deployment",
        ("infrastructure", "ci_cd", "monitoring", "deployment"),
    ),
    AgentSpec(
        AgentName.PERFORMANCE_EXPERT,
        "Performance Expert",
        DocumentType.ARCHITECTURE,
        "scalability, bottlenecks, optimisation",
        ("scalability", "bottlenecks", "optimisation"),
    ),
    AgentSpec(
        AgentName.PROJECT_PLANNER,
        "Project Planner",
        DocumentType.PLAN,
        "phases, tasks, milestones, acceptance criteria",
        ("phases", "tasks", "milestones", "acceptance_criteria"),
    ),
    AgentSpec(
        AgentName.SCRUM_MASTER,
        "Scrum Master",
        DocumentType.PLAN,
        "sprints, ceremonies, velocity",
        ("sprints", "ceremonies", "velocity"),
    ),
    AgentSpec(
        AgentName.RISK_MANAGER,
        "Risk Manager",
        DocumentType.PLAN,
        "risks, mitigations, dependencies",
        ("risks", "mitigations", "dependencies"),
    ),
)

_BY_NAME = {spec.name: spec for spec in (PRODUCT_MANAGER, *EXPERTS)}


def agent(name: AgentName | str) -> AgentSpec:
    return _BY_NAME[AgentName(name)]


def experts_of(stage: DocumentType) -> tuple[AgentSpec, ...]:
    return tuple(spec for spec in EXPERTS if spec.stage is stage)
