"""What the README and docs/ name exists: every `JEEX_*` variable, every command and option,
every script and relative link; and every default they state is the code's."""

import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer.main

from app.cli.commands import cli
from app.core.config import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Where a variable that is not a setting may be read: the scripts, the code, the tests' stacks.
READERS = [ROOT / "scripts", ROOT / "backend" / "src", ROOT / "backend" / "tests", ROOT / ".ci"]
FRONTEND_READERS = ["src", "e2e", "vite.config.ts", "playwright.config.ts", "package.json"]

VARIABLE = re.compile(r"\bJEEX_[A-Z0-9_]*(?:\*|[A-Z0-9])")
COMMAND = re.compile(r"(?:\bjeex-idea|scripts/jeex)((?:[ \t]+[a-z][a-z-]*)+)((?:[ \t]+\S+)*)")
SCRIPT = re.compile(r"(?<![\w/.-])\.?/?(scripts/[a-z][\w.-]*|\.ci/run)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
DEFAULTS_HEADER = re.compile(r"^\|\s*variable\s*\|\s*meaning\s*\|\s*default\s*\|", re.MULTILINE)
PARENTHESISED = re.compile(r"`(JEEX_[A-Z0-9_]+)` \(([^()]+)\)")


def _docs() -> Iterator[tuple[Path, str]]:
    for path in DOCS:
        yield path, path.read_text()


def _settings_variables() -> dict[str, object]:
    return {
        f"{ENV_PREFIX}{name.upper()}": field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
    }


def _read_elsewhere(variable: str) -> bool:
    files = [path for reader in READERS for path in reader.rglob("*") if path.is_file()]
    frontend = ROOT / "frontend"
    for entry in FRONTEND_READERS:
        target = frontend / entry
        files += [path for path in target.rglob("*") if path.is_file()] if target.is_dir() else []
        files += [target] if target.is_file() else []
    for path in files:
        if path.suffix in {".png", ".pyc", ".whl", ".zip"} or "node_modules" in path.parts:
            continue
        try:
            if variable in path.read_text(errors="ignore"):
                return True
        except OSError:
            continue
    return False


def test_every_variable_named_in_the_docs_exists() -> None:
    settings = _settings_variables()
    named = {match for _, text in _docs() for match in VARIABLE.findall(text)}
    assert len(named) > 100, "the docs name the service's settings"
    unknown = []
    for variable in sorted(named):
        if variable.endswith("*"):
            if not any(name.startswith(variable[:-1]) for name in settings):
                unknown.append(variable)
        elif variable not in settings and not _read_elsewhere(variable):
            unknown.append(variable)
    assert unknown == []


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def _resolve(group: Any, words: list[str]) -> tuple[Any, list[str]]:
    """The command the words name (Typer's own click), and the words after it."""
    command = group
    rest = list(words)
    while _is_group(command) and rest:
        sub = command.commands.get(rest[0])
        if sub is None:
            break
        command, rest = sub, rest[1:]
    return command, rest


def _command_mentions() -> Iterator[tuple[str, list[str], list[str]]]:
    for path, text in _docs():
        for match in COMMAND.finditer(text):
            words = match.group(1).split()
            tail = re.split(r"[`|)]", match.group(2))[0].split()
            yield path.name, words, tail


def test_every_command_and_option_named_in_the_docs_exists() -> None:
    group = typer.main.get_command(cli)
    mentions = list(_command_mentions())
    assert {tuple(words[:1]) for _, words, _ in mentions} >= {("serve",), ("chat",), ("doctor",)}
    problems = []
    for where, words, tail in mentions:
        if words[0] in {"command", "commands"}:  # prose: "any `jeex-idea` command"
            continue
        command, rest = _resolve(group, words)
        if command is group:
            problems.append(f"{where}: jeex-idea {' '.join(words)}")
            continue
        if _is_group(command):
            if rest and rest[0] not in command.commands:
                problems.append(f"{where}: jeex-idea {' '.join(words)}")
            continue
        options = {name for param in command.params for name in param.opts}
        for token in (*rest, *tail):
            option = token.strip("[],.;:").split("=")[0]
            if option.startswith("--") and option not in options:
                problems.append(f"{where}: jeex-idea {' '.join(words)} {option}")
    assert problems == []


def test_every_script_named_in_the_docs_exists() -> None:
    named = {match for _, text in _docs() for match in SCRIPT.findall(text)}
    assert "scripts/serve" in named
    assert "scripts/jeex" in named
    missing = [name for name in sorted(named) if not (ROOT / name).is_file()]
    assert missing == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_every_relative_link_in_the_docs_reaches_a_file_and_heading() -> None:
    broken = []
    for path, text in _docs():
        prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
        for target in LINK.findall(prose):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{path.name}: {target} (no such heading)")
    assert broken == []


def _literal(documented: str) -> str | None:
    """The value a default cell states, or None for prose ("embedded", "per-user data dir")."""
    text = documented.strip()
    text = re.split(r"[:(]", text, maxsplit=1)[0].strip()
    if re.fullmatch(r"`[^`]*`", text):
        return text.strip("`")
    if re.fullmatch(r"-?[\d ]+(?:\.\d+)?|true|false|none", text):
        return text.replace(" ", "")
    return None


def _agrees(stated: str, default: object) -> bool | None:
    """Whether a stated literal is the code's default; None when the two cannot be compared
    (a literal for a default computed at start-up, such as a path under the data dir)."""
    if stated == "none":
        return default is None or default in ((), [], {}, "")
    if isinstance(default, Enum):
        default = default.value
    if isinstance(default, bool):
        return stated == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(stated) == float(default)
        except ValueError:
            return False
    if isinstance(default, str):
        return stated == default
    if isinstance(default, tuple | list):
        return stated in {"[]", "()"} and not default
    return None


def _table_defaults(text: str) -> Iterator[tuple[str, str]]:
    for header in DEFAULTS_HEADER.finditer(text):
        rows = text[header.end() :].split("\n")[1:]
        for row in rows:
            if not row.startswith("|"):
                break
            variables_cell, _, default_cell = row.strip().strip("|").rpartition("|")
            variables_cell = variables_cell.rsplit("|", 1)[0]
            variables = re.findall(r"`(JEEX_[A-Z0-9_]+)`", variables_cell)
            if not variables or not default_cell.strip():
                continue
            yield from _pair(variables, default_cell)


def _pair(variables: list[str], cell: str) -> Iterator[tuple[str, str]]:
    if len(variables) == 1:
        yield variables[0], cell
        return
    for separator in (";", ","):
        items = cell.split(separator)
        if len(items) == len(variables):
            yield from zip(variables, items, strict=True)
            return
    for variable in variables:  # one default for all of them
        yield variable, cell


def test_every_default_the_docs_state_is_the_code_s() -> None:
    settings = _settings_variables()
    stated: list[tuple[str, str, str]] = []
    for path, text in _docs():
        stated += [(path.name, name, cell) for name, cell in _table_defaults(text)]
        stated += [(path.name, name, cell) for name, cell in PARENTHESISED.findall(text)]
    compared = 0
    wrong = []
    for where, name, cell in stated:
        literal = _literal(cell)
        if literal is None or name not in settings:
            continue
        agrees = _agrees(literal, settings[name])
        if agrees is None:
            continue
        compared += 1
        if not agrees:
            wrong.append(f"{where}: {name} documented {literal!r}, code {settings[name]!r}")
    assert compared > 60, "the docs state most defaults as literals"
    assert wrong == []


@pytest.mark.parametrize(
    ("cell", "default", "agrees"),
    [
        ("none", "openai", False),
        ("`openai`", "openai", True),
        ("600", 300, False),
        ("4194304 (4 MiB)", 4194304, True),
        ("0.5", 0.5, True),
        ("true", False, False),
        ("2 000 000", 2_000_000, True),
    ],
)
def test_a_stated_default_is_compared_by_its_kind(cell: str, default: object, agrees: bool) -> None:
    literal = _literal(cell)
    assert literal is not None
    assert _agrees(literal, default) is agrees
