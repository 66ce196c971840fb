"""The Python SDK end to end: decorated app code → real OTLP exporter → real server → SQL rows."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

import tenbin
from tenbin.store.models import Feedback, Project, Span
from tests.conftest import RunningServer


@pytest.fixture
def sdk(server: RunningServer) -> Iterator[RunningServer]:
    """tenbin initialised against the real server, shut down after the test."""
    assert tenbin.init(server.url, project="sdk-test")
    yield server
    tenbin.shutdown()


def stored(engine: Engine) -> dict[str, Any]:
    """Every stored span by name, after the SDK's batch was flushed."""
    assert tenbin.flush()
    with engine.connect() as conn:
        return {row.name: row for row in conn.execute(select(Span))}


@tenbin.trace(kind="tool")
def lookup(order_id: int) -> dict[str, Any]:
    return {"order": order_id, "status": "shipped"}


@tenbin.trace(kind="agent", name="support-agent")
def agent(question: str) -> str:
    return f"{question} → {lookup(42)['status']}"


def test_nested_decorated_functions_form_a_tree_with_kinds_inputs_and_outputs(sdk, engine) -> None:
    assert agent("Where is my order?") == "Where is my order? → shipped"
    spans = stored(engine)
    root, tool = spans["support-agent"], spans["lookup"]
    assert (root.kind, tool.kind) == ("AGENT", "TOOL")
    assert root.parent_id is None and tool.parent_id == root.span_id and tool.trace_id == root.trace_id
    assert (root.input_value, root.input_mime) == ("Where is my order?", "text/plain")
    assert json.loads(tool.input_value) == {"order_id": 42} and tool.input_mime == "application/json"
    assert json.loads(tool.output_value) == {"order": 42, "status": "shipped"}
    assert tool.attributes["tool.name"] == "lookup"
    with engine.connect() as conn:
        assert conn.execute(select(Project.name).where(Project.id == root.project_id)).scalar_one() == "sdk-test"


class Bot:
    @tenbin.trace
    def reply(self, text: str, shout: bool = False) -> str:
        return text.upper() if shout else text

    @tenbin.trace
    async def areply(self, text: str) -> str:
        await asyncio.sleep(0)
        return text[::-1]

    @tenbin.trace(kind="llm")
    def stream(self, n: int) -> Iterator[str]:
        for i in range(n):
            yield f"tok{i} "

    @tenbin.trace
    async def astream(self, n: int) -> Any:
        for i in range(n):
            await asyncio.sleep(0)
            yield {"i": i}


async def _collect(agen: Any) -> list[Any]:
    return [item async for item in agen]


def test_sync_async_and_generator_functions_capture_input_and_output(sdk, engine) -> None:
    bot = Bot()
    assert bot.reply("hi", shout=True) == "HI"
    assert asyncio.run(bot.areply("abc")) == "cba"
    assert list(bot.stream(3)) == ["tok0 ", "tok1 ", "tok2 "]
    assert asyncio.run(_collect(bot.astream(2))) == [{"i": 0}, {"i": 1}]
    spans = stored(engine)
    assert json.loads(spans["reply"].input_value) == {"text": "hi", "shout": True}
    assert spans["reply"].output_value == "HI"
    assert (spans["areply"].input_value, spans["areply"].output_value) == ("abc", "cba")
    assert spans["stream"].kind == "LLM" and spans["stream"].output_value == "tok0 tok1 tok2 "
    assert json.loads(spans["astream"].output_value) == [{"i": 0}, {"i": 1}]
    assert json.loads(spans["astream"].input_value) == {"n": 2}


def test_generator_span_covers_iteration_and_parents_spans_made_while_iterating(sdk, engine) -> None:
    @tenbin.trace
    def pages() -> Iterator[int]:
        for i in range(2):
            yield lookup(i)["order"]

    gen = pages()
    assert next(gen) == 0
    gen.close()
    spans = stored(engine)
    assert spans["pages"].output_value == "[0]"
    assert spans["lookup"].parent_id == spans["pages"].span_id


class RefundError(Exception):
    pass


def test_exception_is_recorded_as_error_and_reraised_unchanged(sdk, engine) -> None:
    original = RefundError("card expired")

    @tenbin.trace
    def refund() -> None:
        raise original

    with pytest.raises(RefundError) as caught:
        refund()
    assert caught.value is original
    span = stored(engine)["refund"]
    assert span.status == "ERROR" and "card expired" in span.status_message
    event = span.events[0]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"].endswith("RefundError")


def test_record_llm_fills_model_token_and_prompt_columns(sdk, engine) -> None:
    @tenbin.trace(kind="llm")
    def call_model(question: str) -> str:
        tenbin.record_llm(
            model="gpt-4o-mini",
            input_messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}],
            output_messages=[{"role": "assistant", "content": "Open Billing."}],
            prompt_tokens=12, completion_tokens=3,
            prompt_template="Answer: {{question}}", prompt_template_version="4",
            prompt_template_name="support-answer", prompt_variables={"question": question},
            invocation_parameters={"temperature": 0.2},
        )
        return "Open Billing."

    call_model("How do I get a refund?")
    span = stored(engine)["call_model"]
    assert (span.model, span.prompt_tokens, span.completion_tokens, span.total_tokens) == ("gpt-4o-mini", 12, 3, 15)
    assert (span.prompt_name, span.prompt_version) == ("support-answer", "4")
    assert span.prompt_template == "Answer: {{question}}"
    assert span.prompt_variables == {"question": "How do I get a refund?"}
    assert [m["role"] for m in span.attributes["llm.input_messages"]] == ["system", "user"]
    assert span.attributes["llm.output_messages"][0]["content"] == "Open Billing."
    assert json.loads(span.attributes["llm.invocation_parameters"]) == {"temperature": 0.2}


def test_record_llm_with_a_misspelt_field_names_the_valid_ones() -> None:
    with pytest.raises(TypeError, match="prompt_tokens"):
        tenbin.record_llm(modle="x")


def test_retriever_documents_are_recorded(sdk, engine) -> None:
    @tenbin.trace(kind="retriever")
    def search(query: str) -> list[Any]:
        return [{"content": "Refunds take 5 days.", "score": 0.9, "id": "doc-1"}, "Plain text doc"]

    search("refund")
    docs = stored(engine)["search"].attributes["retrieval.documents"]
    assert docs[0] == {"content": "Refunds take 5 days.", "score": 0.9, "id": "doc-1"}
    assert docs[1] == {"content": "Plain text doc"}


def test_span_block_handle_sets_output_and_reports_its_stored_ids(sdk, engine) -> None:
    with tenbin.span("rerank", kind="reranker", input={"k": 2}, metadata={"stage": "2"}) as s:
        s.set_output(["b", "a"])
        s.set_attributes({"rerank.model": "mini"}, extra={"nested": True})
        assert tenbin.current_span_id() == s.span_id
    row = stored(engine)["rerank"]
    assert (row.span_id, row.trace_id) == (s.span_id, s.trace_id)
    assert row.kind == "RERANKER" and json.loads(row.output_value) == ["b", "a"]
    assert row._mapping["metadata"] == {"stage": "2"}
    assert row.attributes["rerank.model"] == "mini" and json.loads(row.attributes["extra"]) == {"nested": True}


def test_decorators_are_plain_calls_when_tenbin_is_not_initialised() -> None:
    tenbin.shutdown()
    assert lookup(7) == {"order": 7, "status": "shipped"}
    assert list(Bot().stream(2)) == ["tok0 ", "tok1 "]
    with tenbin.span("nothing") as s:
        assert s.span_id is None and tenbin.current_span_id() is None
    assert tenbin.feedback(span_id="00" * 8, thumbs=True) is None


def test_unknown_span_kind_is_refused_at_decoration_with_the_known_kinds() -> None:
    with pytest.raises(ValueError, match="chain"):
        tenbin.trace(kind="banana")(lambda: None)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_keeps_working_when_the_server_is_unreachable() -> None:
    tenbin.init(f"http://127.0.0.1:{closed_port()}", project="down", timeout=0.5)
    try:
        assert agent("still there?") == "still there? → shipped"
        assert asyncio.run(Bot().areply("ok")) == "ko"
        tenbin.flush(timeout_s=2)
        assert tenbin.feedback(thumbs=True, trace_id="ab" * 16) is None
    finally:
        tenbin.shutdown()


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_inputs_json_cannot_hold_are_stored_as_placeholders_without_raising(sdk, engine) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop

    @tenbin.trace
    def odd(a: Any, b: Any, c: Any) -> Any:
        return Unprintable()

    result = odd(loop, Unprintable(), {1, 2})
    assert isinstance(result, Unprintable)
    span = stored(engine)["odd"]
    assert span.input_value == '"<unserialisable dict>"'
    assert span.output_value == '"<unserialisable Unprintable>"'


def test_init_again_replaces_the_previous_setup(sdk, engine) -> None:
    tenbin.init(sdk.url, project="second")
    lookup(1)
    span = stored(engine)["lookup"]
    with engine.connect() as conn:
        assert conn.execute(select(Project.name).where(Project.id == span.project_id)).scalar_one() == "second"


def test_feedback_is_stored_on_a_span_on_a_trace_and_on_the_running_span(sdk, engine) -> None:
    with tenbin.span("answer") as s:
        assert tenbin.feedback(score=0.5, name="auto-check", source="code") is None  # sent when the span ends
    assert tenbin.flush()  # waits for that deferred post
    up = tenbin.feedback(s.span_id, thumbs=True, comment="great", author="ann")
    assert up is not None and up["kind"] == "thumbs" and up["value"] == 1
    tenbin.feedback(trace_id=s.trace_id, label="resolved", name="outcome")
    assert tenbin.flush()
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(Feedback))}
    assert (rows["thumbs"].span_id, rows["thumbs"].comment, rows["thumbs"].author) == (s.span_id, "great", "ann")
    assert (rows["outcome"].trace_id, rows["outcome"].kind, rows["outcome"].label) == (s.trace_id, "label", "resolved")
    assert (rows["auto-check"].span_id, rows["auto-check"].value, rows["auto-check"].source) == (s.span_id, 0.5, "code")


def test_feedback_without_a_judgement_is_refused_with_what_to_pass() -> None:
    with pytest.raises(ValueError, match="thumbs=, score=, label= or comment="):
        tenbin.feedback(span_id="ab" * 8)
