"""The chat itself: pick a project, show where it stands, then read lines and render events.

Two things run side by side on one event loop: the project's event stream (rendered as it
comes) and the user's lines (sent as messages, or run as slash commands). A failed command is
one error line and the chat goes on; only the stream ending for good (the project deleted,
access ended) or the user leaving ends it.
"""

import asyncio
import signal
from contextlib import suppress
from pathlib import Path
from uuid import UUID

from app.auth.schemas import MeRead
from app.cli.chat import slash
from app.cli.chat.client import ChatApi
from app.cli.chat.errors import ApiError, ChatError
from app.cli.chat.lines import LineReader
from app.cli.chat.render import Renderer, agent_label
from app.conversation.roster import experts_of
from app.events import schemas as events
from app.exports.models import ExportStatus
from app.exports.schemas import ExportRead
from app.projects.models import StageStatus
from app.projects.schemas import ProjectRead
from app.projects.stages import STAGE_ORDER, DocumentType

# The chat log a resumed project opens with: enough to see where it stands.
HISTORY_MESSAGES = 20
_EXPORT_POLL_SECONDS = 0.3
_EXPORT_WAIT_SECONDS = 300.0
_BUILDING = {ExportStatus.QUEUED, ExportStatus.BUILDING}


async def choose_project(
    api: ChatApi,
    renderer: Renderer,
    lines: LineReader,
    *,
    project_id: UUID | None,
    new_name: str | None,
) -> ProjectRead | None:
    """The project to chat in: named by an option, or picked from the list (a number) or
    created (a name) at the prompt. None when the input ends first."""
    if project_id is not None:
        try:
            return await api.project(project_id)
        except ApiError as error:
            if error.status == 404:
                # The API tells a missing project and one of others' apart for nobody.
                raise ChatError(
                    f"no project {project_id} that you can open ({error.line()})"
                ) from None
            raise
    if new_name is not None:
        return await _create(api, renderer, new_name)
    projects = await api.projects()
    if projects:
        renderer.projects(projects)
        renderer.print("Pick a project by its number, or type a name to create a new one.")
    else:
        renderer.print("No projects yet: type a name for your first one.")
    while True:
        renderer.prompt()
        line = await lines.next_line()
        renderer.line_entered()
        if line is None:
            return None
        choice = line.strip()
        if not choice:
            continue
        if choice.isdigit():
            number = int(choice)
            if 1 <= number <= len(projects):
                return projects[number - 1]
            renderer.error(f"no project number {number}; type 1 to {len(projects)} or a name")
            continue
        try:
            return await _create(api, renderer, choice)
        except ApiError as error:
            renderer.error(error.line())


async def _create(api: ChatApi, renderer: Renderer, name: str) -> ProjectRead:
    project = await api.create_project(name)
    renderer.info(f"created the project {project.name} ({project.id})")
    return project


class ChatSession:
    def __init__(
        self,
        api: ChatApi,
        renderer: Renderer,
        lines: LineReader,
        me: MeRead,
        project: ProjectRead,
    ) -> None:
        self._api = api
        self._show = renderer
        self._lines = lines
        self._me = me
        self._project = project
        self._project_id = project.id
        self._active_runs: set[UUID] = set()
        # Runs whose end was seen: a 202 read after its run's last event does not revive it.
        self._ended_runs: set[UUID] = set()
        # Messages already on the screen from the log: their replayed events are not repeated.
        self._shown: set[UUID] = set()
        self._waiting_for_line = False
        self._quit = asyncio.Event()
        self._cancelling: set[asyncio.Task[None]] = set()
        self._command: asyncio.Task[bool] | None = None

    async def run(self) -> None:
        """Until /quit, Ctrl-D, Ctrl-C while nothing runs, or the project's stream ends."""
        after = await self._show_where_it_stands()
        stream = asyncio.create_task(self._follow_events(after), name="chat-events")
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupted)
        try:
            await self._read_lines(stream)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            self._show.end_line()
            stream.cancel()
            # A stream that ended on its own (the project gone, access ended) raises here.
            with suppress(asyncio.CancelledError):
                await stream

    async def _show_where_it_stands(self) -> str:
        """Progress first, then the log: events between the two are replayed, never lost, and
        those of messages already shown are skipped. Returns where the stream starts."""
        progress = await self._api.progress(self._project_id)
        self._show.progress(self._project, progress)
        if progress.active_run is not None:
            self._track(progress.active_run.id)
        page = await self._api.messages(self._project_id, HISTORY_MESSAGES)
        self._shown = {message.id for message in page.items}
        if page.older_cursor is not None:
            self._show.info("… earlier messages are in the web app")
        self._show.history(page.items, self._me.id)
        if not page.items:
            self._show.print("Type your idea to start; /help lists the commands.")
        # "0": the whole retained history, which is empty when no event has happened yet.
        return progress.last_event_id or "0"

    async def _read_lines(self, stream: "asyncio.Task[None]") -> None:
        while True:
            if not self._active_runs:
                self._show.prompt()
            self._waiting_for_line = True
            line_task = asyncio.create_task(self._lines.next_line())
            quit_task = asyncio.create_task(self._quit.wait())
            done, _ = await asyncio.wait(
                {line_task, quit_task, stream}, return_when=asyncio.FIRST_COMPLETED
            )
            self._waiting_for_line = False
            for task in (line_task, quit_task):
                if task not in done:
                    task.cancel()
            if line_task not in done:
                return  # asked to quit, or the stream ended
            line = line_task.result()
            self._show.line_entered()
            if line is None or not await self._handle_interruptibly(line):
                return

    async def _handle_interruptibly(self, line: str) -> bool:
        """``_handle`` as a task of its own, which Ctrl-C cancels (waiting for an export)."""
        self._command = asyncio.create_task(self._handle(line))
        try:
            await asyncio.wait({self._command})
        finally:
            command, self._command = self._command, None
        if command.cancelled():
            self._show.info("· stopped")
            return True
        return command.result()

    async def _handle(self, line: str) -> bool:
        """Act on one line; False when it asks to leave."""
        if not line.strip():
            return True
        try:
            command = slash.parse(line)
        except slash.SlashError as error:
            self._show.error(str(error))
            return True
        try:
            if command is None:
                await self._send(line.strip())
            elif command.command is slash.Command.QUIT:
                return False
            else:
                await self._run_command(command)
        except ChatError as error:
            self._show.error(str(error))
        return True

    async def _run_command(self, command: slash.Slash) -> None:
        match command.command:
            case slash.Command.HELP:
                self._show.print(slash.HELP)
            case slash.Command.NEXT:
                await self._next_stage()
            case slash.Command.EXPORT:
                await self._export(command.argument)
            case slash.Command.EXPERT:
                await self._address_expert(command.argument)
            case slash.Command.DOC:
                await self._print_document(command.argument)

    async def _send(self, content: str) -> None:
        accepted = await self._api.post_message(self._project_id, content)
        self._shown.add(accepted.message.id)
        self._track(accepted.run.id)
        self._show.info("… the team is working (Ctrl-C stops it)")

    async def _next_stage(self) -> None:
        """What the web app's buttons do: complete the stage in progress, then open the next
        one (a completed stage goes straight to the next)."""
        progress = await self._api.progress(self._project_id)
        current = next(item for item in progress.stages if item.stage == progress.current_stage)
        if current.status is StageStatus.NOT_STARTED:
            self._show.info(f"the {current.stage} stage has not started: type your idea first")
            return
        if current.status is StageStatus.IN_PROGRESS:
            await self._api.complete_stage(self._project_id, current.stage.value)
        following = _following(current.stage)
        if following is None:
            self._show.info("every stage is completed: /export saves the documents")
            return
        accepted = await self._api.start_stage(self._project_id, following.value)
        self._track(accepted.run.id)
        self._show.info(f"… the {following} stage is starting")

    async def _address_expert(self, argument: str) -> None:
        name, _, text = argument.partition(" ")
        progress = await self._api.progress(self._project_id)
        experts = experts_of(progress.current_stage)
        names = [spec.name.value for spec in experts]
        if name.casefold() not in names:
            valid = ", ".join(f"{spec.name.value} ({spec.role})" for spec in experts)
            raise ChatError(
                f"{name} is not an expert of the {progress.current_stage} stage; choose one of: "
                f"{valid}"
            )
        await self._send(f"@{name.casefold()} {text.strip()}".strip())

    async def _print_document(self, argument: str) -> None:
        try:
            document_type = DocumentType(argument.strip().casefold())
        except ValueError:
            kinds = ", ".join(item.value for item in DocumentType)
            raise ChatError(f"no document {argument!r}; choose one of: {kinds}") from None
        self._show.document(await self._api.document(self._project_id, document_type.value))

    async def _export(self, argument: str) -> None:
        target = _export_target(argument)
        exported = await self._api.request_export(self._project_id)
        exported = await self._wait_for_export(exported)
        path = await self._api.download(exported, target)
        self._show.print(f"saved the export to {path} ({path.stat().st_size:,} bytes)")

    async def _wait_for_export(self, exported: ExportRead) -> ExportRead:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _EXPORT_WAIT_SECONDS
        while exported.status in _BUILDING:
            if loop.time() > deadline:
                raise ChatError(f"the export is still {exported.status}; try /export again later")
            await asyncio.sleep(_EXPORT_POLL_SECONDS)
            exported = await self._api.export(self._project_id, exported.id)
        if exported.status is not ExportStatus.READY:
            reason = exported.error.message if exported.error else "it cannot be downloaded"
            raise ChatError(f"the export is {exported.status}: {reason}")
        return exported

    # --- Ctrl-C --------------------------------------------------------------------------

    def _interrupted(self) -> None:
        """Ctrl-C stops what is going on: the agents' run, else a command, else the chat."""
        if not self._active_runs:
            if self._command is not None:
                self._command.cancel()
            else:
                self._quit.set()
            return
        self._show.info("· stopping the run (Ctrl-C again when it has stopped leaves)")
        for run_id in list(self._active_runs):
            task = asyncio.create_task(self._cancel(run_id))
            self._cancelling.add(task)
            task.add_done_callback(self._cancelling.discard)

    async def _cancel(self, run_id: UUID) -> None:
        try:
            await self._api.cancel_run(self._project_id, run_id)
        except ApiError as error:
            if error.status == 409:
                self._active_runs.discard(run_id)  # it had finished already
                self._show.info("· the run had already finished")
                return
            self._show.error(error.line())
        except ChatError as error:
            self._show.error(str(error))

    # --- events --------------------------------------------------------------------------

    async def _follow_events(self, after: str) -> None:
        try:
            async for event in self._api.events(self._project_id, after, self._reconnecting):
                self._render(event)
        except ApiError as error:
            if error.status == 404:
                raise ChatError(
                    f"the project is gone, or your access to it ended ({error.line()})"
                ) from None
            raise

    def _reconnecting(self, reason: str) -> None:
        self._show.info(f"· {reason}; reconnecting")

    def _render(self, event: events.ProjectEvent) -> None:  # noqa: PLR0912 - one case per event
        match event:
            case events.RunStarted():
                self._track(event.run_id)
            case events.AgentFloor():
                self._show.info(f"… {agent_label(event.agent)} has the floor")
            case events.ExpertQuestions():
                if event.message_id not in self._shown:
                    self._shown.add(event.message_id)
                    self._show.questions(event.agent, event.questions)
            case events.ExpertSectionDelta():
                self._show.delta(event)
            case events.ExpertSection():
                if event.message_id not in self._shown:
                    self._shown.add(event.message_id)
                    self._show.section(event)
            case events.AgentMessage():
                if event.message_id not in self._shown:
                    self._shown.add(event.message_id)
                    self._show.agent_message(event)
            case events.DocumentVersionCreated():
                self._show.version(event)
            case events.TraceStale():
                self._show.stale(event)
            case events.StageCompleted():
                self._show.stage_completed(event)
            case events.RunCompleted():
                self._run_ended(event.run_id)
            case events.RunFailed():
                self._show.run_failed(event)
                self._run_ended(event.run_id)
            case events.ExportProgress():
                self._show.export_progress(event)
            case events.ExportReady() | events.ExportFailed() | events.Ping():
                pass  # /export follows its export itself

    def _track(self, run_id: UUID) -> None:
        if run_id not in self._ended_runs:
            self._active_runs.add(run_id)

    def _run_ended(self, run_id: UUID) -> None:
        self._ended_runs.add(run_id)
        self._active_runs.discard(run_id)
        if not self._active_runs and self._waiting_for_line:
            self._show.prompt()


def _export_target(argument: str) -> Path:
    """Where /export saves: a file, or a folder (the server names the file)."""
    target = Path(argument).expanduser()
    folder = target if target.is_dir() else target.parent
    if not folder.is_dir():
        raise ChatError(f"no folder {folder} to save the export in")
    return target


def _following(stage: DocumentType) -> DocumentType | None:
    index = STAGE_ORDER.index(stage)
    return STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None
