"""Which model each agent uses: ``JEEX_LLM_MODEL`` for all, ``JEEX_LLM_AGENT_MODELS`` per agent."""

from dataclasses import dataclass, field

from app.core.config import LLMProvider, LLMSettings, SettingsError
from app.llm.constants import AGENT_MODELS_VARIABLE, AgentName
from app.llm.exceptions import LLMNotConfiguredError


@dataclass(frozen=True, slots=True)
class ModelRoute:
    provider: LLMProvider
    model_name: str

    @property
    def key(self) -> str:
        """Identifies the provider + model: one circuit breaker and one client per key."""
        return f"{self.provider.value}:{self.model_name}"


@dataclass(frozen=True, slots=True)
class ModelRoutes:
    default: ModelRoute | None
    per_agent: dict[AgentName, ModelRoute] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return self.default is not None

    def for_agent(self, agent: AgentName) -> ModelRoute:
        route = self.per_agent.get(agent, self.default)
        if route is None:
            raise LLMNotConfiguredError(
                "No language model is configured: set JEEX_LLM_MODEL (and JEEX_LLM_BASE_URL or "
                "JEEX_LLM_API_KEY as the provider needs).",
                details={"agent": agent.value},
            )
        return route

    def all(self) -> set[ModelRoute]:
        routes = set(self.per_agent.values())
        if self.default is not None:
            routes.add(self.default)
        return routes


def resolve_routes(settings: LLMSettings) -> ModelRoutes:
    """The routes of the settings; an unknown agent name stops start-up, naming the variable."""
    if settings.model is None:
        return ModelRoutes(default=None)
    unknown = sorted(set(settings.agent_models) - set(AgentName))
    if unknown:
        known = ", ".join(sorted(AgentName))
        raise SettingsError(
            f"invalid configuration: {AGENT_MODELS_VARIABLE}: unknown agent name(s) "
            f"{', '.join(unknown)}; known agents: {known}"
        )
    provider = settings.provider
    return ModelRoutes(
        default=ModelRoute(provider, settings.model),
        per_agent={
            AgentName(name): ModelRoute(provider, model)
            for name, model in settings.agent_models.items()
        },
    )
