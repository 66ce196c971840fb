"""The REST query API through `tenbin.Client`, over data ingested through the real OTLP path."""

from __future__ import annotations

import os

import httpx
import pandas as pd
import pytest

from tenbin.client import Client
from tenbin.errors import InvalidInput, NotFound
from tests.otlp_data import llm_attrs, make_request, make_span


def ingest(server, spans, project: str = "shop") -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{server.url}/v1/traces", content=make_request(spans, project).SerializeToString(),
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200, r.text


def conversation(session: str, turns: int, task: str) -> list:  # type: ignore[no-untyped-def]
    spans = []
    for step in range(1, turns + 1):
        trace = os.urandom(16)
        root = make_span("agent", trace_id=trace, duration_ms=100 * step,
                         attrs={"openinference.span.kind": "AGENT", "session.id": session, "session.step": step,
                                "input.value": f"question {step}", "output.value": f"answer {step}"})
        llm = make_span("llm", trace_id=trace, parent_id=root.span_id, duration_ms=50 * step,
                        attrs={**llm_attrs(task, session), "session.step": step})
        spans += [root, llm]
    return spans


@pytest.fixture
def client(server):  # type: ignore[no-untyped-def]
    with Client(server.url) as c:
        yield c


def test_traces_list_pages_with_cursor_and_shows_root_fields(server, client) -> None:
    ingest(server, conversation("s1", 5, "billing"))
    first = client._request("GET", "/projects/shop/traces", params={"limit": 2})
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = [t["trace_id"] for t in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client._request("GET", "/projects/shop/traces", params={"limit": 2, "cursor": cursor})
        seen += [t["trace_id"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    traces = client.traces("shop")
    assert [t["root"]["input_value"] for t in traces] == [f"question {i}" for i in (5, 4, 3, 2, 1)]
    assert all(t["span_count"] == 2 and t["total_tokens"] == 150 for t in traces)


def test_trace_tree_nests_children_and_shows_orphans_as_roots(server, client) -> None:
    trace = os.urandom(16)
    root = make_span("agent", trace_id=trace, attrs={"openinference.span.kind": "AGENT"})
    child = make_span("retrieve", trace_id=trace, parent_id=root.span_id, attrs={"openinference.span.kind": "RETRIEVER"})
    orphan = make_span("lost", trace_id=trace, parent_id=os.urandom(8))
    ingest(server, [root, child, orphan])
    tree = client.trace(trace.hex())
    names = sorted(r["name"] for r in tree["roots"])
    assert names == ["agent", "lost"]
    agent = next(r for r in tree["roots"] if r["name"] == "agent")
    assert [c["name"] for c in agent["children"]] == ["retrieve"] and not agent["orphan"]
    assert next(r for r in tree["roots"] if r["name"] == "lost")["orphan"] is True


def test_session_returns_turns_in_order_with_steps(server, client) -> None:
    ingest(server, conversation("chat-7", 3, "setup") + conversation("other", 1, "setup"))
    session = client.session("chat-7", project="shop")
    assert [t["step"] for t in session["turns"]] == [1, 2, 3]
    assert [t["input"] for t in session["turns"]] == ["question 1", "question 2", "question 3"]
    assert session["user_id"] == "u-1"


def test_spans_filter_and_dataframe(server, client) -> None:
    ingest(server, conversation("a", 2, "billing") + conversation("b", 2, "setup"))
    llm = client.spans("shop", filter='kind == "LLM" and metadata["task"] == "billing"')
    assert len(llm) == 2 and {s["kind"] for s in llm} == {"LLM"}
    frame = client.spans("shop", dataframe=True)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 8 and "latency_ms" in frame.columns


def test_metrics_by_time_bucket_and_metadata_group_count_feedback(server, client) -> None:
    ingest(server, conversation("a", 2, "billing") + conversation("b", 3, "setup"))
    llm_spans = client.spans("shop", filter='kind == "LLM"')
    billing = [s for s in llm_spans if s["metadata"]["task"] == "billing"]
    client.feedback(billing[0]["span_id"], kind="thumbs", value=1)
    client.feedback(billing[1]["span_id"], kind="thumbs", value=0, comment="wrong")
    groups = {g["group"]: g for g in client.metrics("shop", filter='kind == "LLM"', group_by="metadata.task")}
    assert groups["billing"]["count"] == 2 and groups["setup"]["count"] == 3
    assert groups["billing"]["thumbs_up_rate"] == 0.5 and groups["billing"]["thumbs_count"] == 2
    assert groups["setup"]["thumbs_up_rate"] is None
    assert groups["setup"]["latency_p50_ms"] == pytest.approx(100.0)
    assert groups["billing"]["total_tokens"] == 300
    overall = client.metrics("shop")
    assert len(overall) == 1 and overall[0]["count"] == 10 and overall[0]["thumbs_up_rate"] == 0.5
    buckets = client.metrics("shop", bucket_seconds=3600, dataframe=True)
    assert buckets["count"].sum() == 10 and "bucket" in buckets.columns


def test_trace_feedback_lands_on_root_span(server, client) -> None:
    spans = conversation("x", 1, "billing")
    ingest(server, spans)
    trace_id = spans[0].trace_id.hex()
    client.feedback(trace_id=trace_id, kind="score", name="helpfulness", value=0.25, source="llm", author="judge")
    tree = client.trace(trace_id)
    fb = tree["roots"][0]["feedback"]
    assert [(f["name"], f["value"], f["source"]) for f in fb] == [("helpfulness", 0.25, "llm")]


def test_unknown_ids_are_404(server, client) -> None:
    ingest(server, conversation("x", 1, "billing"))
    for call in (lambda: client.trace("0" * 32), lambda: client.span("0" * 16),
                 lambda: client.session("nope", project="shop"), lambda: client.traces("no-such-project"),
                 lambda: client.feedback("0" * 16, kind="thumbs", value=1)):
        with pytest.raises(NotFound):
            call()


def test_invalid_input_is_400_and_stores_nothing(server, client) -> None:
    ingest(server, conversation("x", 1, "billing"))
    span_id = client.spans("shop")[0]["span_id"]
    with pytest.raises(InvalidInput, match="unknown field"):
        client.spans("shop", filter='latncy_ms > 3')
    with pytest.raises(InvalidInput, match="thumbs"):
        client.feedback(span_id, kind="thumbs", value=7)
    with pytest.raises(InvalidInput, match="cursor"):
        client._request("GET", "/projects/shop/spans", params={"cursor": "garbage!"})
    r = httpx.get(f"{server.url}/api/v1/projects/shop/spans", params={"filter": "__import__('os')"})
    assert r.status_code == 400 and r.json()["part"]
    assert client.trace(client.spans("shop")[0]["trace_id"])["roots"][0]["feedback"] == []


def test_concurrent_feedback_writes_all_land(server, client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ingest(server, conversation("c", 1, "billing"))
    span_id = client.spans("shop", filter='kind == "LLM"')[0]["span_id"]

    def post(i: int) -> int:
        return httpx.post(f"{server.url}/api/v1/spans/{span_id}/feedback",
                          json={"kind": "score", "name": "s", "value": i}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(post, range(24))) == {201}
    assert client.metrics("shop", filter='feedback["s"] >= 0')[0]["count"] == 1
    assert len(client.span(span_id)["feedback"]) == 24
