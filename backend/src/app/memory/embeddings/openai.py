"""Any OpenAI-compatible ``POST /v1/embeddings``: OpenAI itself, Ollama, vLLM, llama.cpp, LM
Studio, OpenRouter and the like, over one pooled httpx client.

Rate limits, server errors, timeouts and dropped connections are retried with jittered
exponential backoff; a refused request (bad key, unknown model) is not, since it would only be
refused again. Neither error carries the provider's own words: they may echo the input.
"""

import httpx
import structlog
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from app.core.config import EmbeddingsSettings
from app.memory.embeddings.base import Embedder
from app.memory.exceptions import EmbeddingsFailedError, EmbeddingsUnavailableError

logger = structlog.get_logger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
_CONNECT_TIMEOUT_SECONDS = 5.0
_BACKOFF_INITIAL_SECONDS = 0.5
_BACKOFF_MAX_SECONDS = 10.0


class _Vector(BaseModel):
    index: int
    embedding: list[float]


class _EmbeddingsAnswer(BaseModel):
    data: list[_Vector]


class _RetryableStatusError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class OpenAIEmbedder(Embedder):
    def __init__(self, settings: EmbeddingsSettings) -> None:
        super().__init__(
            model=settings.model,
            dimensions=settings.dimensions,
            batch_size=settings.batch_size,
        )
        headers = {}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self._client = httpx.AsyncClient(
            base_url=settings.base_url or OPENAI_BASE_URL,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=_CONNECT_TIMEOUT_SECONDS),
        )
        self._max_attempts = settings.max_attempts

    async def warm_up(self) -> None:
        """Nothing: start-up does not depend on the endpoint, nor spend a request on it."""

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential_jitter(
                multiplier=_BACKOFF_INITIAL_SECONDS,
                max=_BACKOFF_MAX_SECONDS,
                jitter=_BACKOFF_INITIAL_SECONDS,
            ),
            retry=retry_if_exception_type((httpx.TransportError, _RetryableStatusError)),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._post(texts)
        except RetryError as error:
            failure = error.last_attempt.exception()
            logger.warning(
                "memory.embeddings.unavailable",
                model=self.model,
                attempts=self._max_attempts,
                failure=type(failure).__name__,
                status=getattr(failure, "status_code", None),
            )
            raise EmbeddingsUnavailableError(
                f"The embeddings provider did not answer after {self._max_attempts} attempts."
            ) from failure
        return self._vectors(response, len(texts))

    async def _post(self, texts: list[str]) -> httpx.Response:
        response = await self._client.post(
            "/embeddings", json={"model": self.model, "input": texts, "encoding_format": "float"}
        )
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS or response.is_server_error:
            raise _RetryableStatusError(response.status_code)
        if response.is_error:
            logger.warning(
                "memory.embeddings.refused", model=self.model, status=response.status_code
            )
            raise EmbeddingsFailedError(
                f"The embeddings provider refused the request (HTTP {response.status_code})."
            )
        return response

    def _vectors(self, response: httpx.Response, expected: int) -> list[list[float]]:
        try:
            answer = _EmbeddingsAnswer.model_validate_json(response.content)
        except ValidationError as error:
            raise EmbeddingsFailedError(
                "The embeddings provider answered with a body that is not an embeddings list."
            ) from error
        ordered = sorted(answer.data, key=lambda item: item.index)
        if [item.index for item in ordered] != list(range(expected)):
            raise EmbeddingsFailedError(
                f"The embeddings provider returned {len(ordered)} vectors for {expected} texts."
            )
        return [item.embedding for item in ordered]
