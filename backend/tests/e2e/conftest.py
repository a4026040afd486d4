from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient

from app.core.infrastructure import Endpoints
from app.resources import Resources
from tests.conftest import client_for
from tests.conversation_double import conversation_responder
from tests.e2e.test_conversation import conversation_settings
from tests.llm_double import ScriptedLLMServer


@pytest.fixture(scope="session")
async def models() -> AsyncIterator[ScriptedLLMServer]:
    """Scripted models that can hold a whole conversation."""
    async with ScriptedLLMServer(responder=conversation_responder) as server:
        yield server


@pytest.fixture
async def api(
    models: ScriptedLLMServer, tmp_path: Path, endpoints: Endpoints, clean_state: None
) -> AsyncIterator[tuple[AsyncClient, Resources]]:
    """An app of its own with the scripted models and an in-process worker."""
    async with client_for(conversation_settings(tmp_path, models), endpoints) as pair:
        yield pair
