"""Embeddings over real HTTP: start a job, watch its checkpoint, ask for similar spans, see the panel."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.embed_helpers import TOPICS
from tests.otlp_data import make_request, make_span

API = "/api/v1"


def ingest_topics(url: str) -> dict[str, list[str]]:
    """Every topic question as an LLM span in its own trace, through the OTLP endpoint."""
    spans, by_topic = [], {}
    for topic, pairs in TOPICS.items():
        made = [make_span("llm", attrs={"openinference.span.kind": "LLM", "input.value": q, "output.value": a})
                for q, a in pairs]
        by_topic[topic] = [s.span_id.hex() for s in made]
        spans += made
    spans.append(make_span("tool", attrs={"openinference.span.kind": "TOOL", "input.value": "refund order"}))
    r = httpx.post(f"{url}/v1/traces", content=make_request(spans, "shop").SerializeToString(),
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200, r.text
    return by_topic


def wait_for_job(url: str, deadline_s: float = 120) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        status = httpx.get(f"{url}{API}/projects/shop/embeddings").json()
        if status["jobs"] and not status["jobs"][0]["running"]:
            return status
        time.sleep(0.2)
    raise AssertionError(f"embed job did not finish: {status}")


def test_started_job_embeds_and_similar_spans_answer_over_http(server: Any) -> None:
    by_topic = ingest_topics(server.url)
    r = httpx.post(f"{server.url}{API}/projects/shop/embeddings/jobs", json={"model": "wordllama", "field": "input"})
    assert r.status_code == 202, r.text
    assert r.json()["job"] == "embed:wordllama-l2-supercat-256:input"
    status = wait_for_job(server.url)
    job = status["jobs"][0]
    assert job["status"] == "done" and job["processed"] == 9 and job["backlog"] == 0 and job["last_error"] is None
    assert status["llm_spans"] == 9 and status["vectors"] == {"wordllama-l2-supercat-256/input": 9}
    first = by_topic["football"][0]
    similar = httpx.get(f"{server.url}{API}/spans/{first}/similar", params={"limit": 3}).json()
    assert {i["span_id"] for i in similar["items"][:2]} == set(by_topic["football"][1:])
    assert similar["model"] == "wordllama-l2-supercat-256"


def test_similar_spans_panel_on_the_trace_page_links_the_nearest_span(server: Any) -> None:
    by_topic = ingest_topics(server.url)
    httpx.post(f"{server.url}{API}/projects/shop/embeddings/jobs", json={"model": "wordllama", "field": "input"})
    wait_for_job(server.url)
    span = by_topic["pasta"][0]
    trace = httpx.get(f"{server.url}{API}/spans/{span}").json()["trace_id"]
    html = httpx.get(f"{server.url}/traces/{trace}", params={"span": span}).text
    panel = html[html.index('id="similar"'):]
    first_link = panel[panel.index("?span=") + 6:][:16]
    assert first_link in by_topic["pasta"][1:]
    assert "Similar spans" in html


def test_bad_embedding_requests_are_refused_with_a_reason(server: Any, engine: Engine) -> None:
    by_topic = ingest_topics(server.url)
    span = by_topic["refund"][0]
    r = httpx.get(f"{server.url}{API}/spans/{span}/similar")
    assert r.status_code == 404 and "tenbin embed" in r.text
    trace = httpx.get(f"{server.url}{API}/spans/{span}").json()["trace_id"]
    assert "tenbin embed" in httpx.get(f"{server.url}/traces/{trace}", params={"span": span}).text
    r = httpx.post(f"{server.url}{API}/projects/shop/embeddings/jobs", json={"model": "bert"})
    assert r.status_code in (400, 422) and "minilm" in r.text
    r = httpx.post(f"{server.url}{API}/projects/nope/embeddings/jobs", json={"model": "wordllama"})
    assert r.status_code == 404
    assert httpx.get(f"{server.url}{API}/projects/shop/embeddings").json()["jobs"] == []


@pytest.mark.parametrize("field", ["prompt"])
def test_similar_spans_refuse_an_unknown_field(server: Any, field: str) -> None:
    by_topic = ingest_topics(server.url)
    r = httpx.get(f"{server.url}{API}/spans/{by_topic['refund'][0]}/similar", params={"field": field})
    assert r.status_code in (400, 422) and "input" in r.text
