"""The chat's slash commands, read from a typed line. A line that is none of them is a message;
``/language`` and ``/update`` are the server's own chat commands and go to it as messages."""

import re
from dataclasses import dataclass
from enum import StrEnum

# Handled by the conversation engine itself (see docs/conversation.md).
_SERVER_COMMANDS = re.compile(r"^/(?:language|lang|язык|update|обновить)(?:\s|$)", re.IGNORECASE)

HELP = """\
/next            complete the current stage (if it is in progress) and start the next one
/export PATH     build the ZIP of every document and save it to PATH (a file or a folder)
/expert NAME     give the floor to an expert of this stage; text after the name goes with it
/doc TYPE        print a document's active version (idea, specs, architecture, plan)
/language CODE   correct the project's language (owners, before the team writes a document)
/update          bring items a change made stale in line with it (only their sections change)
/help            this list
/quit            leave (Ctrl-D too); Ctrl-C stops a run that is going
Anything else is sent to the team: the idea, answers like 1.b, 2.c, or free text."""


class Command(StrEnum):
    NEXT = "next"
    EXPORT = "export"
    EXPERT = "expert"
    DOC = "doc"
    HELP = "help"
    QUIT = "quit"


@dataclass(frozen=True, slots=True)
class Slash:
    command: Command
    argument: str = ""


class SlashError(ValueError):
    """A line that starts like a command but is not a valid one."""


_NEEDS_ARGUMENT = {
    Command.EXPORT: "/export PATH, e.g. /export ./idea.zip",
    Command.EXPERT: "/expert NAME, e.g. /expert business_analyst",
    Command.DOC: "/doc TYPE, e.g. /doc idea",
}
_ALIASES = {"exit": Command.QUIT, "q": Command.QUIT, "?": Command.HELP}


def parse(line: str) -> Slash | None:
    """The command of ``line``, or None when it is a message for the team."""
    text = line.strip()
    if not text.startswith("/") or _SERVER_COMMANDS.match(text):
        return None
    name, _, argument = text[1:].partition(" ")
    key = name.casefold()
    command = _ALIASES.get(key)
    if command is None:
        try:
            command = Command(key)
        except ValueError:
            raise SlashError(f"unknown command /{name}; /help lists them") from None
    argument = argument.strip()
    if command in _NEEDS_ARGUMENT and not argument:
        raise SlashError(f"usage: {_NEEDS_ARGUMENT[command]}")
    return Slash(command, argument)
