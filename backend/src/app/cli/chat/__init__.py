"""`jeex-idea chat`: the conversation in a terminal. Only the command's signature lives here, so
that `jeex-idea --help` does not import the client, the API's models and Rich's renderers."""

from typing import Annotated
from uuid import UUID

import typer


def chat(
    url: Annotated[
        str | None,
        typer.Option(help="The server, e.g. http://127.0.0.1:8000; default: the running serve's."),
    ] = None,
    project: Annotated[
        UUID | None, typer.Option("--project", help="Open this project (its id).")
    ] = None,
    new: Annotated[
        str | None, typer.Option("--new", help="Create a project with this name and open it.")
    ] = None,
) -> None:
    """Chat with the team in the terminal, as in the web app.

    Type the idea, answer the questions (1.b, 2.c), watch the sections come in; /help lists
    /next, /export PATH, /expert NAME, /doc TYPE and /quit. Signs in with JEEX_TOKEN (a
    personal access token) or, in development, with a local sign-in of its own."""
    from app.cli.chat.main import run_chat

    run_chat(url=url, project_id=project, new_name=new)
