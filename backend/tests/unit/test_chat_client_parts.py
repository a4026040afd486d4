"""Pieces of `jeex-idea chat` that need no server: the slash commands and the live section."""

from io import StringIO
from uuid import uuid4

import pytest
from rich.console import Console

from app.cli.chat import slash
from app.cli.chat.render import Renderer, agent_label
from app.events.schemas import ExpertSection, ExpertSectionDelta


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/next", slash.Slash(slash.Command.NEXT)),
        ("  /export ./out dir/a.zip ", slash.Slash(slash.Command.EXPORT, "./out dir/a.zip")),
        (
            "/expert qa_expert как тестировать?",
            slash.Slash(slash.Command.EXPERT, "qa_expert как тестировать?"),
        ),
        ("/DOC idea", slash.Slash(slash.Command.DOC, "idea")),
        ("/exit", slash.Slash(slash.Command.QUIT)),
        ("/help", slash.Slash(slash.Command.HELP)),
    ],
)
def test_slash_commands_are_read_with_their_argument(line: str, expected: slash.Slash) -> None:
    assert slash.parse(line) == expected


@pytest.mark.parametrize("line", ["1.b, 2.c", "дальше", "/language ru", "/язык en", "@qa_expert"])
def test_messages_and_the_servers_own_commands_go_to_the_team(line: str) -> None:
    assert slash.parse(line) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [("/export", "usage: /export PATH"), ("/nope", "unknown command /nope"), ("/expert ", "usage")],
)
def test_a_wrong_command_says_how_to_write_it(line: str, message: str) -> None:
    with pytest.raises(slash.SlashError, match=message):
        slash.parse(line)


def _renderer() -> tuple[Renderer, StringIO]:
    out = StringIO()
    return Renderer(Console(file=out, width=120, color_system=None)), out


def test_a_streamed_section_shows_each_delta_once_even_when_replayed() -> None:
    renderer, out = _renderer()
    project, run = uuid4(), uuid4()

    def delta(sequence: int, text: str) -> ExpertSectionDelta:
        return ExpertSectionDelta(
            project_id=project, run_id=run, agent="qa_expert", sequence=sequence, delta=text
        )

    renderer.delta(delta(0, "Первая "))
    renderer.delta(delta(1, "часть"))
    renderer.delta(delta(1, "часть"))  # replayed after a reconnect
    renderer.delta(delta(2, "."))
    renderer.section(
        ExpertSection(
            project_id=project,
            run_id=run,
            agent="qa_expert",
            message_id=uuid4(),
            title="Тесты",
            content="Первая часть.",
        )
    )
    text = out.getvalue()
    assert text.count("QA Expert is writing:") == 1
    assert "Первая часть.\n" in text
    assert "QA Expert's section «Тесты» is in" in text


def test_a_section_that_did_not_stream_is_shown_whole() -> None:
    renderer, out = _renderer()
    renderer.section(
        ExpertSection(
            project_id=uuid4(),
            run_id=uuid4(),
            agent="risk_manager",
            message_id=uuid4(),
            title="Риски",
            content="## Риски\n\nСрыв сроков.",
        )
    )
    assert "Risk Manager wrote «Риски»:" in out.getvalue()
    assert "Срыв сроков." in out.getvalue()


def test_agents_are_named_by_their_role() -> None:
    assert agent_label("business_analyst") == "Business Analyst"
    assert agent_label(None) == "System"
    assert agent_label("someone_new") == "someone_new"
