"""Small typed helpers for values the libraries type loosely, so that a test's assertion reads
as it is meant and mypy checks the rest."""

from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from app.core.errors import AppError
from app.llm.breaker import BreakerState, CircuitBreaker

T = TypeVar("T")


async def reply(command: Awaitable[T] | T) -> T:
    """A redis-py command's reply: its stubs type each command for the sync and the async
    client at once, so an awaited call is ``Awaitable[T] | T``."""
    if isinstance(command, Awaitable):
        return cast(T, await command)
    return command


def details_of(error: AppError) -> dict[str, Any]:
    """The structured details of an error that carries some."""
    assert isinstance(error.details, dict)
    return error.details


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state now. (Read through a call, so that a check of an earlier state does
    not narrow the type of a later one.)"""
    return breaker.state
