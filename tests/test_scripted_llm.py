"""The scripted OpenAI-compatible server's contract, spoken to by the real `openai` client over HTTP."""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tenbin.llm.scripted import EMBEDDING_DIM, ScriptedLLM, count_tokens, default_script, embed

REFUND = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "How do I get a refund?"},
]
REFUND_ANSWER = "To get a refund, open Billing → Refunds and pick the order."


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def client(llm: ScriptedLLM) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)


def ask(client: openai.OpenAI, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    return client.chat.completions.create(model="scripted-1", messages=messages, **kwargs)


def test_tokenizer_counts_word_runs_and_punctuation() -> None:
    assert count_tokens("How do I get a refund?") == 7
    assert count_tokens("  ") == 0
    assert count_tokens("a,b") == 3


def test_default_script_answers_by_keyword_and_echoes_otherwise() -> None:
    assert default_script(REFUND) == REFUND_ANSWER
    assert default_script([{"role": "user", "content": "hi"}]).startswith("Hello")
    assert default_script([{"role": "user", "content": "this is odd"}]) == "I have no scripted answer for: this is odd"


def test_answers_are_deterministic_with_exact_usage(client: openai.OpenAI) -> None:
    first, second = ask(client, REFUND), ask(client, REFUND)
    assert first.choices[0].message.content == second.choices[0].message.content == REFUND_ANSWER
    assert first.model == "scripted-1" and first.choices[0].finish_reason == "stop"
    usage = first.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 14, 24)


def test_custom_script_sees_the_messages_as_sent() -> None:
    seen: list[list[dict[str, Any]]] = []

    def script(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        return f"{len(messages)} messages"

    with ScriptedLLM(script, model="judge-1") as server:
        reply = openai.OpenAI(base_url=server.base_url, api_key="k").chat.completions.create(
            model="judge-1", messages=REFUND, temperature=0
        )
        assert server.requests[0]["temperature"] == 0
    assert reply.choices[0].message.content == "2 messages" and reply.model == "judge-1"
    assert seen == [REFUND]


def test_stream_chunks_assemble_to_the_same_answer_and_usage(client: openai.OpenAI) -> None:
    plain = ask(client, REFUND)
    chunks = list(ask(client, REFUND, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len(chunks) > 3 and chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(ask(client, REFUND, stream=True))
    assert all(c.usage is None for c in chunks) and all(c.choices for c in chunks)


def test_stream_is_server_sent_events_ending_with_done(llm: ScriptedLLM) -> None:
    body = {"model": "scripted-1", "messages": REFUND, "stream": True}
    r = httpx.post(f"{llm.base_url}/chat/completions", json=body, timeout=30)
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [line for line in r.text.split("\n\n") if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["object"] == "chat.completion.chunk"


def test_json_mode_returns_a_json_object(client: openai.OpenAI) -> None:
    reply = ask(client, REFUND, response_format={"type": "json_object"})
    assert json.loads(reply.choices[0].message.content) == {"answer": REFUND_ANSWER}


def test_json_mode_passes_a_scripts_json_object_through() -> None:
    verdict = '{"label": "correct", "score": 1}'
    with ScriptedLLM(lambda messages: verdict) as server:
        reply = openai.OpenAI(base_url=server.base_url, api_key="k").chat.completions.create(
            model="scripted-1", messages=REFUND, response_format={"type": "json_object"}
        )
    assert reply.choices[0].message.content == verdict


def test_models_lists_chat_and_embedding_models(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["scripted-1", "scripted-embed-1"]


def test_embeddings_are_deterministic_unit_vectors(client: openai.OpenAI) -> None:
    texts = ["refund my order", "reset my password", "refund my order"]
    reply = client.embeddings.create(model="scripted-embed-1", input=texts)
    vectors = [d.embedding for d in reply.data]
    assert [d.index for d in reply.data] == [0, 1, 2]
    assert all(len(v) == EMBEDDING_DIM for v in vectors)
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-6) for v in vectors)
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    assert reply.usage.prompt_tokens == 9 and reply.usage.total_tokens == 9


def test_embeddings_in_base64_decode_to_the_float_vector(llm: ScriptedLLM) -> None:
    """The openai client asks for base64 by default; both encodings must carry the same vector."""
    url, body = f"{llm.base_url}/embeddings", {"model": "scripted-embed-1", "input": "refund my order"}
    floats = httpx.post(url, json={**body, "encoding_format": "float"}).json()["data"][0]["embedding"]
    raw = httpx.post(url, json={**body, "encoding_format": "base64"}).json()["data"][0]["embedding"]
    decoded = struct.unpack(f"<{EMBEDDING_DIM}f", base64.b64decode(raw))
    assert floats == embed("refund my order")
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(decoded, floats, strict=True))


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "scripted-1"}, "messages", "missing_required_parameter"),
        ({"model": "scripted-1", "messages": []}, "messages", "invalid_value"),
        ({"model": "scripted-1", "messages": "hi"}, "messages", "invalid_value"),
        ({"model": "scripted-1", "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role", "invalid_value"),
        ({"messages": REFUND}, "model", "missing_required_parameter"),
        ({"model": "scripted-1", "messages": REFUND, "stream": "maybe"}, "stream", "invalid_value"),
    ],
)
def test_bad_chat_requests_get_openai_style_400(llm: ScriptedLLM, body: dict[str, Any], param: str, code: str) -> None:
    before = len(llm.requests)
    r = httpx.post(f"{llm.base_url}/chat/completions", json=body, timeout=30)
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert '"messages": [{"role": "user"' in error["message"]
    assert len(llm.requests) == before


def test_invalid_json_body_gets_400_saying_so(llm: ScriptedLLM) -> None:
    r = httpx.post(f"{llm.base_url}/chat/completions", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]


def test_openai_client_raises_bad_request_for_wrong_types(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, [{"role": "user", "content": 42}])
    assert caught.value.body["param"].startswith("messages.0.content")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="scripted-embed-1", input=[1, 2])


def test_unknown_model_gets_404_naming_the_served_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=REFUND)
    assert caught.value.body["code"] == "model_not_found" and "scripted-1" in caught.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="scripted-1", input="x")
