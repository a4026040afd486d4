"""The LLM gateway: the one way agents reach a model.

``LLMGateway`` (in :mod:`app.llm.service`) runs a call through per-user concurrency and
per-project token budget checks in Redis, a circuit breaker and retries per provider + model,
and pydantic-ai for typed, validated outputs; every call returns an :class:`LLMUsage` record.
"""
