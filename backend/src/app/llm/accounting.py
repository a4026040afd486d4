"""What a call cost when the provider did not say: an estimate, counted and labelled as one.

Some servers send no usage with a streamed answer, and a request that timed out or broke off
after being sent reports none at all, although the server read the prompt (and, if it does not
cancel abandoned work, goes on writing). Counting such requests as free would let the budgets
miss them, so they are charged an estimate of about four characters per token, and the usage
record says how many of its tokens were estimated.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pydantic_core
from pydantic_ai.messages import (
    BaseToolCallPart,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelResponsePart,
    RetryPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.usage import RequestUsage

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def reported_nothing(usage: RequestUsage) -> bool:
    return usage.input_tokens == 0 and usage.output_tokens == 0


def request_text(messages: Sequence[ModelMessage], parameters: ModelRequestParameters) -> str:
    """Roughly what the request sends: instructions, every message's text, the tool schemas."""
    pieces: list[str] = []
    for message in messages:
        if isinstance(message, ModelRequest):
            pieces.append(message.instructions or "")
            pieces.extend(_part_text(part) for part in message.parts)
        else:
            pieces.append(response_text(message.parts))
    for tool in [*parameters.function_tools, *parameters.output_tools]:
        pieces.append(tool.name + (tool.description or ""))
        pieces.append(pydantic_core.to_json(tool.parameters_json_schema).decode())
    return "\n".join(pieces)


def response_text(parts: Iterable[ModelResponsePart]) -> str:
    return "\n".join(_part_text(part) for part in parts)


def _part_text(part: object) -> str:
    if isinstance(part, RetryPromptPart):
        return part.model_response()
    if isinstance(part, BaseToolCallPart):
        return part.args_as_json_str()
    content = getattr(part, "content", None)
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return pydantic_core.to_json(content, fallback=str).decode()


@dataclass(slots=True)
class CallStats:
    """One gateway call's own accounting, shared by all its model requests: what pydantic-ai's
    usage cannot see (repeated requests, failed ones) or was not told (unreported usage)."""

    steps: int = 0  # model requests pydantic-ai made: the first answer and each validation retry
    requests: int = 0  # HTTP requests that reached the provider, repeats and failures included
    retries: int = 0  # requests repeated after 429, 5xx, timeouts, resets
    estimated_input_tokens: int = 0
    estimated_output_tokens: int = 0

    @property
    def estimated_tokens(self) -> int:
        return self.estimated_input_tokens + self.estimated_output_tokens

    def estimate(self, sent: str, written: str = "") -> None:
        self.estimated_input_tokens += estimate_tokens(sent)
        self.estimated_output_tokens += estimate_tokens(written)

    def estimate_unreported(
        self,
        usage: RequestUsage,
        messages: Sequence[ModelMessage],
        parameters: ModelRequestParameters,
        response: ModelResponse,
    ) -> None:
        if reported_nothing(usage):
            self.estimate(request_text(messages, parameters), response_text(response.parts))
