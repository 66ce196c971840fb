"""tenbin.llm.LLM over real HTTP against the scripted OpenAI-compatible server."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

import tenbin
from tenbin.errors import InvalidInput, LLMOutputError, LLMUnavailable
from tenbin.llm import LLM, PromptInfo, parse_json
from tenbin.llm.scripted import ScriptedLLM, count_tokens
from tenbin.loopback import free_port
from tenbin.store.models import Span


def test_chat_returns_text_and_usage() -> None:
    with ScriptedLLM() as server:
        llm = LLM(server.base_url, server.model)
        result = llm.chat([{"role": "user", "content": "How do I get a refund?"}])
    assert "refund" in result.text.lower()
    assert result.prompt_tokens == count_tokens("How do I get a refund?")
    assert result.completion_tokens == count_tokens(result.text)
    assert result.model == server.model


def test_each_call_is_an_llm_span_with_prompt_name_and_version(server, engine) -> None:  # type: ignore[no-untyped-def]
    tenbin.init(server.url, project="llm-layer")
    try:
        with ScriptedLLM() as llm_server:
            llm = LLM(llm_server.base_url, llm_server.model)
            prompt = PromptInfo("support-answer", 4, "Answer: {q}", {"q": "hi"})
            llm.chat([{"role": "user", "content": "Answer: hi"}], prompt=prompt)
        tenbin.flush()
    finally:
        tenbin.shutdown()
    with engine.connect() as conn:
        span = conn.execute(select(Span).where(Span.kind == "LLM")).one()
    assert (span.prompt_name, span.prompt_version, span.prompt_template) == ("support-answer", "4", "Answer: {q}")
    assert span.prompt_variables == {"q": "hi"} and span.model == "scripted-1"
    assert span.prompt_tokens == 3 and span.completion_tokens and span.output_value


def require_tool(value: dict) -> dict:  # type: ignore[type-arg]
    if "tool" not in value:
        raise KeyError("'tool' is missing")
    return value


def test_chat_json_retries_output_that_fails_validation() -> None:
    replies = iter(['{"oops": 1}', '{"tool": "search_docs", "args": {"q": "x"}}'])

    with ScriptedLLM(script=lambda _m: next(replies)) as server:
        llm = LLM(server.base_url, server.model)
        value = llm.chat_json([{"role": "user", "content": "pick a tool"}], validate=require_tool)
        assert value == {"tool": "search_docs", "args": {"q": "x"}}
        assert len(server.requests) == 2
        assert "not valid" in server.requests[1]["messages"][-1]["content"]


def test_chat_json_gives_up_with_the_reason() -> None:
    with ScriptedLLM(script=lambda _m: "[1, 2]") as server:
        llm = LLM(server.base_url, server.model)
        with pytest.raises(LLMOutputError, match="3 attempts"):
            llm.chat_json([{"role": "user", "content": "x"}], retries=2, validate=lambda v: v["a"])


def test_server_down_is_a_clear_error_naming_the_setting() -> None:
    llm = LLM(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=2, max_retries=0)
    with pytest.raises(LLMUnavailable, match="TENBIN_LLM_BASE_URL"):
        llm.chat([{"role": "user", "content": "hi"}])


def test_chat_many_keeps_order_and_bounds_concurrency() -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def slow_echo(messages):  # type: ignore[no-untyped-def]
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return f"echo {messages[-1]['content']}"

    with ScriptedLLM(script=slow_echo) as server:
        llm = LLM(server.base_url, server.model, max_concurrency=2)
        results = llm.chat_many([[{"role": "user", "content": str(i)}] for i in range(8)])
    assert [r.text for r in results] == [f"echo {i}" for i in range(8)]
    assert peak[0] <= 2


@pytest.mark.parametrize(("text", "value"), [
    ('{"a": 1}', {"a": 1}),
    ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
    ('I think {"answer": "yes"} is right', {"answer": "yes"}),
    ('prefix [1, {"b": 2}] suffix', [1, {"b": 2}]),
])
def test_parse_json_finds_the_value(text: str, value: object) -> None:
    assert parse_json(text) == value


def test_parse_json_rejects_text_without_json() -> None:
    with pytest.raises(ValueError, match="no JSON"):
        parse_json("the answer is yes")


@pytest.mark.parametrize(("style", "expected"), [
    ("json_object", {"type": "json_object", "schema": {"type": "object"}}),
    ("json_schema", {"type": "json_schema", "json_schema": {"name": "reply", "schema": {"type": "object"}}}),
])
def test_a_json_schema_is_sent_in_the_form_the_configured_server_takes(
        style: str, expected: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENBIN_LLM_SCHEMA_STYLE", style)
    with ScriptedLLM(script=lambda _m: '{"ok": true}') as model:
        LLM(model.base_url, model.model).chat([{"role": "user", "content": "hi"}], json_schema={"type": "object"})
        sent = model.requests[0]
    assert sent["response_format"] == expected


def test_an_unknown_schema_style_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENBIN_LLM_SCHEMA_STYLE", "grammar")
    with pytest.raises(InvalidInput, match="TENBIN_LLM_SCHEMA_STYLE must be json_object or json_schema"):
        LLM("http://127.0.0.1:9/v1", "m").chat([{"role": "user", "content": "hi"}], json_schema={"type": "object"})
