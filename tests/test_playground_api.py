"""The playground over REST with the scripted LLM: what reaches the model, what is traced, what is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import free_port
from tenbin.prompts import registry
from tests.llm_helpers import configured_llm

URL = "/api/v1/projects/shop/playground"
CHAT = [{"role": "system", "content": "You are {{ persona }}."}, {"role": "user", "content": "Q: {{ question }}"}]


def answer(messages: list[dict[str, Any]]) -> str:
    return f"echo: {messages[-1]['content']}"


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with configured_llm(monkeypatch, answer) as scripted:
        yield scripted


def spans_of(server: Any, trace_id: str) -> list[dict[str, Any]]:
    tree = httpx.get(f"{server.url}/api/v1/traces/{trace_id}").json()
    out, todo = [], list(tree["roots"])
    while todo:
        span = todo.pop()
        out.append(span)
        todo.extend(span.get("children") or [])
    return out


def test_run_sends_the_rendered_chat_to_the_model_and_traces_it_with_prompt_name_and_version(
        server, engine: Engine, model: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    registry.push(engine, "shop", {"name": "support", "messages": CHAT, "params": {"temperature": 0.7}})
    body = {"prompt": "support", "variables": {"persona": "kind", "question": "Where is my <b>refund</b>?"},
            "max_tokens": 40}
    r = httpx.post(f"{server.url}{URL}/run", json=body, timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()
    sent = model.requests[-1]
    assert sent["messages"] == [{"role": "system", "content": "You are kind."},
                                {"role": "user", "content": "Q: Where is my <b>refund</b>?"}]
    assert (sent["temperature"], sent["max_tokens"], sent["model"]) == (0.7, 40, model.model)
    assert out["answer"] == "echo: Q: Where is my <b>refund</b>?"
    assert out["prompt"] == {"name": "support", "version": 1, "based_on": 1, "edited": False}
    assert out["completion_tokens"] > 0 and out["tokens"]["count"] > 0 and out["latency_ms"] is not None
    spans = {s["kind"]: s for s in spans_of(server, out["trace_id"])}
    llm = spans["LLM"]
    assert (llm["prompt_name"], llm["prompt_version"]) == ("support", "1")
    assert "playground" in llm["tags"] and llm["output_value"] == out["answer"]
    assert spans["CHAIN"]["span_id"] == out["span_id"]
    listed = httpx.get(f"{server.url}/api/v1/projects/shop/spans", params={"filter": '"playground" in tags'}).json()
    assert {s["kind"] for s in listed["items"]} == {"LLM", "CHAIN"}


def test_an_edited_draft_is_traced_without_the_version_it_came_from(server, engine: Engine, model: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    registry.push(engine, "shop", {"name": "support", "messages": CHAT})
    body = {"prompt": "support", "template": "Briefly, {question}", "variables": {"question": "why?"}}
    out = httpx.post(f"{server.url}{URL}/run", json=body, timeout=60).json()
    assert model.requests[-1]["messages"] == [{"role": "user", "content": "Briefly, why?"}]
    assert out["prompt"] == {"name": "support", "version": None, "based_on": 1, "edited": True}
    llm = next(s for s in spans_of(server, out["trace_id"]) if s["kind"] == "LLM")
    assert (llm["prompt_name"], llm["prompt_version"]) == ("support", None)


BAD = [
    ({"prompt": "support", "variables": {"persona": "kind"}}, "missing variable(s) ['question']"),
    ({"prompt": "support", "variables": {"persona": "a", "question": "b", "tone": "c"}}, "unknown variable(s) ['tone']"),
    ({"template": "{{ ''.__class__.__mro__ }}"}, "refused"),
    ({"prompt": "nope"}, "no prompt named 'nope'"),
    ({"prompt": "support", "variables": {"persona": "a", "question": "b"}, "temperature": 5}, "temperature must be"),
    ({"template": "  "}, "renders to nothing"),
]


def test_bad_drafts_are_refused_before_any_model_call(server, engine: Engine, model: ScriptedLLM) -> None:  # type: ignore[no-untyped-def]
    registry.push(engine, "shop", {"name": "support", "messages": CHAT})
    for body, message in BAD:
        r = httpx.post(f"{server.url}{URL}/run", json=body, timeout=60)
        assert r.status_code in (400, 404) and message in r.text, (body, r.text)
    assert model.requests == []
    assert httpx.get(f"{server.url}/api/v1/projects/shop/spans").json()["items"] == []


def test_render_counts_tokens_of_a_blank_draft_without_calling_a_model(server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{server.url}{URL}/render", json={"template": "Hello {name}!", "variables": {"name": "Ana"},
                                                    "model": "some-remote-model"})
    out = r.json()
    assert (out["rendered"], out["template"]["format"], out["prompt"]["name"]) == ("Hello Ana!", "fstring", None)
    assert out["tokens"] == {"count": 3, "exact": False, "tokenizer": "approximate-regex", "model": "some-remote-model"}


def test_unreachable_model_names_the_setting_to_fix(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    r = httpx.post(f"{server.url}{URL}/run", json={"template": "Hi"}, timeout=60)
    assert r.status_code == 503
    assert "TENBIN_LLM_BASE_URL" in r.text and "tenbin llm serve" in r.text
