"""What the chat shows, with Rich: the chat log, question cards, streamed sections, versions.

Everything is printed from the event loop's thread, so lines never interleave mid-line; the
one open line is an expert's section coming in, which any other output closes first.
"""

from collections.abc import Sequence
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from app.conversation import roster
from app.documents.schemas import DocumentVersionRead
from app.events import schemas as events
from app.messages.models import MessageKind, MessageRole
from app.messages.schemas import MessageRead
from app.projects.schemas import ProjectRead
from app.streams.schemas import ProjectProgress

PROMPT = "› "
ANSWER_HINT = (
    "Answer like 1.b, 2.c (several letters per question allowed), `ok` for the recommended "
    "options, or in your own words."
)
_QUESTIONS = TypeAdapter(list[events.Question])
# A resumed chat shows this many lines of an old section; /doc prints the whole document.
_SECTION_PREVIEW_LINES = 6


def agent_label(name: str | None) -> str:
    """The agent's role as the product names it, e.g. `Business Analyst`."""
    if name is None:
        return "System"
    try:
        return roster.agent(name).role
    except ValueError:
        return name


class Renderer:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._prompt_shown = False
        # The section being streamed: (run, agent), and the last delta number printed.
        self._streaming: tuple[UUID, str] | None = None
        self._sequence = -1
        self._streamed: set[tuple[UUID, str]] = set()

    # --- lines ---------------------------------------------------------------------------

    def _begin(self) -> None:
        """Start a fresh line for output: end a section coming in, leave the prompt."""
        if self._streaming is not None:
            self.console.print()
            self._streaming = None
        if self._prompt_shown:
            self.console.print()
            self._prompt_shown = False

    def print(self, *items: object, style: str | None = None) -> None:
        self._begin()
        # Lines of text are left to the terminal to wrap (a long line stays one line when
        # copied); panels and tables are laid out to the terminal's width.
        lines_only = all(isinstance(item, str | Text) for item in items)
        self.console.print(*items, style=style, highlight=False, soft_wrap=lines_only)

    def info(self, text: str) -> None:
        self.print(Text(text, style="dim"))

    def error(self, text: str) -> None:
        self._begin()
        self.console.print(
            Text.assemble(("error: ", "bold red"), text), highlight=False, soft_wrap=True
        )

    def prompt(self) -> None:
        if self._prompt_shown:
            return
        self._begin()
        self.console.print(PROMPT, end="", style="bold", highlight=False)
        self._prompt_shown = True

    def end_line(self) -> None:
        """Leave the terminal on a fresh line (a prompt or a section may be open)."""
        self._begin()

    def line_entered(self) -> None:
        """The user pressed Enter: the terminal is on a new line already."""
        self._prompt_shown = False

    # --- start-up ------------------------------------------------------------------------

    def projects(self, projects: Sequence[ProjectRead]) -> None:
        self.print(Text("Your projects", style="bold"))
        table = Table()
        table.add_column("#", justify="right")
        table.add_column("name")
        table.add_column("stage")
        table.add_column("language")
        table.add_column("role")
        for number, project in enumerate(projects, start=1):
            table.add_row(
                str(number),
                project.name,
                project.current_stage.value,
                project.language or "-",
                project.role.value,
            )
        self.print(table)

    def progress(self, project: ProjectRead, progress: ProjectProgress) -> None:
        versions = {item.document_type: item.active_version for item in progress.documents}
        self.print(Text.assemble((project.name, "bold"), f"  {project.id}"))
        table = Table()
        table.add_column("stage")
        table.add_column("status")
        table.add_column("document")
        for stage in progress.stages:
            version = versions.get(stage.stage)
            marker = " ←" if stage.stage == progress.current_stage else ""
            table.add_row(
                f"{stage.stage.value}{marker}",
                stage.status.value.replace("_", " "),
                f"v{version}" if version is not None else "-",
            )
        self.print(table)
        if progress.active_run is not None:
            self.info(f"… a run is {progress.active_run.status}; its events follow")

    # --- the chat log --------------------------------------------------------------------

    def history(self, messages: Sequence[MessageRead], me: UUID) -> None:
        """The recent log; the questions still waiting for an answer in full."""
        open_questions = _open_questions_id(messages)
        for message in messages:
            self.message(message, me, open_questions=message.id == open_questions)

    def message(self, message: MessageRead, me: UUID, *, open_questions: bool) -> None:
        if message.role is MessageRole.USER:
            who = "you" if message.author_user_id == me else "a member"
            self.print(Text.assemble((f"{who}: ", "bold cyan"), message.content))
            return
        if message.kind is MessageKind.QUESTIONS:
            questions = _questions_of(message)
            if open_questions and questions:
                self.questions(message.author_agent, questions)
            else:
                count = len(questions) if questions else "some"
                self.info(f"{agent_label(message.author_agent)} asked {count} questions")
            return
        if message.kind is MessageKind.SECTION:
            lines = message.content.strip().splitlines()
            shown = "\n".join(lines[:_SECTION_PREVIEW_LINES])
            more = "\n…" if len(lines) > _SECTION_PREVIEW_LINES else ""
            header = f"{agent_label(message.author_agent)} wrote:\n"
            self.print(Text.assemble((header, "bold"), shown + more))
            return
        self._agent_text(message.author_agent, message.kind.value, message.content)

    def _agent_text(self, agent: str | None, kind: str, content: str) -> None:
        style = {"error": "red", "notice": "yellow"}.get(kind, "")
        self.print(Text.assemble((f"{agent_label(agent)}: ", "bold green"), (content, style)))

    def questions(self, agent: str | None, questions: Sequence[events.Question]) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right")
        grid.add_column()
        for question in questions:
            grid.add_row(Text(f"{question.number}.", style="bold"), Text(question.text, "bold"))
            for option in question.options:
                recommended = option.letter == question.recommended
                line = Text(f"{option.letter}) {option.text}")
                if recommended:
                    line.append("  ★ recommended", style="green")
                grid.add_row("", line)
        hint = Text(ANSWER_HINT, style="dim")
        self.print(Panel(Group(grid, hint), title=f"{agent_label(agent)} asks", title_align="left"))

    # --- events --------------------------------------------------------------------------

    def delta(self, event: events.ExpertSectionDelta) -> None:
        key = (event.run_id, event.agent)
        if key == self._streaming:
            if event.sequence <= self._sequence:
                return  # replayed after a reconnect: already on the screen
        else:
            if key in self._streamed:
                return
            self._begin()
            self.console.print(
                Text(f"{agent_label(event.agent)} is writing:", style="bold"), highlight=False
            )
            self._streaming = key
            self._streamed.add(key)
        self.console.print(event.delta, end="", markup=False, highlight=False, soft_wrap=True)
        self._sequence = event.sequence

    def section(self, event: events.ExpertSection) -> None:
        key = (event.run_id, event.agent)
        if key in self._streamed:
            self._begin()
            self._streamed.discard(key)
            self.info(f"— {agent_label(event.agent)}'s section «{event.title}» is in")
            return
        # Nothing of it came in live (the stream reconnected past it): show it whole.
        self.print(Text(f"{agent_label(event.agent)} wrote «{event.title}»:", style="bold"))
        self.print(Markdown(event.content))

    def agent_message(self, event: events.AgentMessage) -> None:
        self._agent_text(event.agent, event.kind, event.content)

    def version(self, event: events.DocumentVersionCreated) -> None:
        if event.author_agent is not None:
            who = agent_label(event.author_agent)
        elif event.author_user_id is not None:
            who = "a member"
        else:
            who = "the system"
        self.print(
            Text.assemble(
                ("✎ ", "magenta"),
                (f"{event.document_type} v{event.version}", "bold magenta"),
                f" by {who}: {event.reason}",
            )
        )

    def stale(self, event: events.TraceStale) -> None:
        self.print(
            Text.assemble(
                ("⚠ ", "yellow"),
                f"{event.document_type} v{event.version} changed {', '.join(event.changed)}: ",
                (", ".join(event.stale), "bold yellow"),
                " may disagree now; /update brings them in line",
            )
        )

    def stage_completed(self, event: events.StageCompleted) -> None:
        following = (
            f"; /next starts {event.next_stage}" if event.next_stage else "; every stage is done"
        )
        self.print(Text(f"✓ the {event.stage} stage is completed{following}", style="bold green"))

    def run_failed(self, event: events.RunFailed) -> None:
        if event.error.code == "cancelled":
            self.info("· the run was stopped")
            return
        self.error(f"the run failed: {event.error.code}: {event.error.message}")

    def export_progress(self, event: events.ExportProgress) -> None:
        self.info(f"· export {event.step} ({event.percent}%)")

    def document(self, document: DocumentVersionRead) -> None:
        title = f"{document.document_type.value} v{document.version}"
        self.print(Panel(Markdown(document.content), title=title, title_align="left"))


def _questions_of(message: MessageRead) -> list[events.Question] | None:
    raw = (message.payload or {}).get("questions")
    try:
        return _QUESTIONS.validate_python(raw)
    except ValidationError:
        return None


def _open_questions_id(messages: Sequence[MessageRead]) -> UUID | None:
    """The newest questions with no user message after them (the web app's rule)."""
    for message in reversed(messages):
        if message.role is MessageRole.USER:
            return None
        if message.kind is MessageKind.QUESTIONS:
            return message.id
    return None
