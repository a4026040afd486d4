from collections.abc import AsyncIterator

import pytest

from tests.conversation_double import conversation_responder
from tests.llm_double import ScriptedLLMServer


@pytest.fixture(scope="session")
async def models() -> AsyncIterator[ScriptedLLMServer]:
    """Scripted models that can hold a whole conversation."""
    async with ScriptedLLMServer(responder=conversation_responder) as server:
        yield server
