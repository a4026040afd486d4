"""The ``jeex-idea`` command line: the service's commands, the doctor and the terminal chat."""

from app.cli.commands import main, serve_config

__all__ = ["main", "serve_config"]
