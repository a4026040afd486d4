from enum import StrEnum


class AgentName(StrEnum):
    """Every agent that calls a model; the keys allowed in ``JEEX_LLM_AGENT_MODELS``."""

    PRODUCT_MANAGER = "product_manager"
    BUSINESS_ANALYST = "business_analyst"
    VENTURE_EXPERT = "venture_expert"
    TRIZ_EXPERT = "triz_expert"
    DESIGN_THINKER = "design_thinker"
    SYSTEM_ANALYST = "system_analyst"
    ENGINEERING_STANDARDS = "engineering_standards"
    QA_EXPERT = "qa_expert"
    SECURITY_EXPERT = "security_expert"
    SOLUTION_ARCHITECT = "solution_architect"
    DEVOPS_EXPERT = "devops_expert"
    PERFORMANCE_EXPERT = "performance_expert"
    PROJECT_PLANNER = "project_planner"
    SCRUM_MASTER = "scrum_master"
    RISK_MANAGER = "risk_manager"


AGENT_MODELS_VARIABLE = "JEEX_LLM_AGENT_MODELS"
# The provider name an OpenAI-compatible server other than OpenAI is recorded under in spans.
OPENAI_COMPATIBLE_SYSTEM = "openai-compatible"
