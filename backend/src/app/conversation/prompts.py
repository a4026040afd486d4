"""Prompt templates (English, in ``prompts/``) filled with a project's facts."""

from functools import cache
from importlib import resources
from string import Template

from app.conversation.roster import AgentSpec


@cache
def _template(name: str) -> Template:
    text = resources.files("app.conversation").joinpath("prompts", name).read_text("utf-8")
    return Template(text)


def render(name: str, **values: object) -> str:
    """Fill ``prompts/{name}``; a missing value is a bug, so it raises rather than leaving $x."""
    return _template(name).substitute({key: str(value) for key, value in values.items()})


def instructions(spec: AgentSpec, language: str | None) -> str:
    """The agent's system instructions: the shared rules, then its own brief."""
    return "\n\n".join(
        (
            render("common.md", role=spec.role, focus=spec.focus, language=_rule(language)),
            render(f"agents/{spec.name.value}.md"),
        )
    )


def _rule(language: str | None) -> str:
    # Before the first answer the project has no language yet: the Product Manager answers in
    # the user's own, which it also names.
    if language is None:
        return "the language the user writes in"
    return f'the project\'s language, ISO 639-1 code "{language}"'
