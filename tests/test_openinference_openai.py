"""The public OpenInference OpenAI instrumentor, tracing the real `openai` client, lands in tenbin.

Chain under test: openai client → scripted OpenAI-compatible server (loopback) while
`OpenAIInstrumentor` records the call → opentelemetry-sdk OTLP exporter → tenbin /v1/traces → store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from tests.integration_helpers import scripted, stored_spans, traced_into  # noqa: F401 - scripted is a fixture

PROJECT = "openai-test"
MESSAGES = [
    {"role": "system", "content": "You are a terse support agent."},
    {"role": "user", "content": "How do I get a refund?"},
]


@pytest.fixture
def provider(server: Any) -> Iterator[TracerProvider]:
    """openai calls traced by the instrumentor and exported synchronously to the tenbin `server`."""
    with traced_into(server.url, PROJECT, OpenAIInstrumentor()) as provider:
        yield provider


def assert_llm_span(row: Any, model: str, usage: Any, answer: str, messages: list[dict[str, str]]) -> None:
    assert row.project == PROJECT
    assert row.kind == "LLM" and row.status == "OK"
    assert row.model == model
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
    )
    sent = [{"role": m["role"], "content": m["content"]} for m in row.attributes["llm.input_messages"]]
    assert sent == messages
    assert row.attributes["llm.output_messages"][0]["content"] == answer


def test_chat_completion_span_has_model_messages_and_usage(provider, engine, scripted) -> None:
    client = openai.OpenAI(base_url=scripted.base_url, api_key="sk-test", max_retries=0)
    response = client.chat.completions.create(model=scripted.model, messages=MESSAGES)
    provider.force_flush()
    answer = response.choices[0].message.content
    assert answer and "refund" in answer.lower()
    [row] = stored_spans(engine)
    assert_llm_span(row, scripted.model, response.usage, answer, MESSAGES)
    assert answer in (row.output_value or "")


def test_streamed_chat_completion_span_has_assembled_answer_and_usage(provider, engine, scripted) -> None:
    client = openai.OpenAI(base_url=scripted.base_url, api_key="sk-test", max_retries=0)
    stream = client.chat.completions.create(
        model=scripted.model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    provider.force_flush()
    answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = chunks[-1].usage
    assert usage is not None and len(chunks) > 3
    [row] = stored_spans(engine)
    assert_llm_span(row, scripted.model, usage, answer, MESSAGES)


def test_async_client_calls_are_traced_too(provider, engine, scripted) -> None:
    async def call() -> Any:
        async with openai.AsyncOpenAI(base_url=scripted.base_url, api_key="sk-test", max_retries=0) as client:
            return await client.chat.completions.create(model=scripted.model, messages=MESSAGES)

    response = asyncio.run(call())
    provider.force_flush()
    [row] = stored_spans(engine)
    assert_llm_span(row, scripted.model, response.usage, response.choices[0].message.content, MESSAGES)


def test_failed_call_is_stored_as_an_error_span(provider, engine, scripted) -> None:
    client = openai.OpenAI(base_url=scripted.base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    provider.force_flush()
    [row] = stored_spans(engine)
    assert (row.project, row.kind, row.status) == (PROJECT, "LLM", "ERROR")
    assert "no-such-model" in (row.status_message or "")
    assert row.prompt_tokens is None
