"""Prompt templates (English, in ``prompts/``) filled with a project's facts."""

from functools import cache
from importlib import resources
from string import Template

from app.conversation.roster import AgentSpec

_LANGUAGE_DETECTION_INSTRUCTIONS = (
    "You identify the natural language a text is written in and answer with its ISO 639-1 code."
)


@cache
def _template(name: str) -> Template:
    text = resources.files("app.conversation").joinpath("prompts", name).read_text("utf-8")
    return Template(text)


def render(name: str, **values: object) -> str:
    """Fill ``prompts/{name}``; a missing value is a bug, so it raises rather than leaving $x."""
    return _template(name).substitute({key: str(value) for key, value in values.items()})


def instructions(spec: AgentSpec, language: str) -> str:
    """The agent's system instructions: the shared rules, then its own brief."""
    return "\n\n".join(
        (
            render("common.md", role=spec.role, focus=spec.focus, language=language),
            render(f"agents/{spec.name.value}.md"),
        )
    )


def language_detection_instructions() -> str:
    return _LANGUAGE_DETECTION_INSTRUCTIONS
