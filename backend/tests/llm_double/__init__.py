"""A scripted OpenAI-compatible chat-completions server for tests and benchmarks.

Tests embed a directive in a prompt (see :func:`directive`); the server reads it from the request
and answers accordingly, so no test depends on the order of calls inside the code under test.
"""

from tests.llm_double.random_schema import RandomCall, RandomModel, random_instance
from tests.llm_double.script import Directive, directive
from tests.llm_double.server import Exchange, ScriptedLLMServer

__all__ = [
    "Directive",
    "Exchange",
    "RandomCall",
    "RandomModel",
    "ScriptedLLMServer",
    "directive",
    "random_instance",
]
