"""Evaluation results in the project metrics (`store.eval_metrics`, GET …/metrics/evals, the Python
client) on SQLite and PostgreSQL: exact numbers on a constructed project, the sampling of large
selections, and evaluator labels ranking worst-rated traces."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tenbin.client import Client
from tenbin.errors import FilterError, NotFound
from tenbin.store import metrics
from tenbin.store.engine import write_transaction
from tenbin.store.eval_metrics import eval_summary
from tenbin.store.feedback import add_feedback
from tenbin.store.models import SPAN_COLUMNS, Feedback
from tenbin.store.queries import SpanQuery, list_spans
from tenbin.store.segments import worst_rated_traces
from tenbin.store.writes import ensure_projects, insert_spans
from tests.conftest import RunningServer

DAY_S = 86400
DAY0_US = 20718 * DAY_S * 1_000_000
"""Midnight UTC, so the day buckets are the two halves of the project."""
INCORRECT, UNPARSEABLE = {1, 5, 6}, {9}
_ids = itertools.count(1)


def _span(i: int) -> dict[str, Any]:
    n = next(_ids)
    start = DAY0_US + (i // 5) * DAY_S * 1_000_000 + i * 60_000_000
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS)
    row.update(span_id=f"{n:016x}", trace_id=f"{n:032x}", name="answer", kind="LLM" if i % 2 == 0 else "CHAIN",
               status="OK", start_us=start, end_us=start + 1000, latency_ms=1.0)
    return row


def _qa(i: int) -> dict[str, Any]:
    if i in UNPARSEABLE:
        return {"label": "unparseable", "value": None}
    return {"label": "incorrect", "value": 0.0} if i in INCORRECT else {"label": "correct", "value": 1.0}


def seed(engine: Engine, project: str = "p") -> list[str]:
    """10 spans over two days, each judged by qa_correctness (3 incorrect, 1 unparseable); spans
    0-3 scored by `length` (code, scores only), 0-1 labelled by a human `tone`, thumbs on all."""
    rows = [_span(i) for i in range(10)]
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows])
    for i, row in enumerate(rows):
        sid = row["span_id"]
        add_feedback(engine, span_id=sid, kind="label", name="qa_correctness", source="llm", author="qa@1", **_qa(i))
        add_feedback(engine, span_id=sid, kind="thumbs", value=0)
        if i < 4:
            add_feedback(engine, span_id=sid, kind="score", name="length", value=i / 4, source="code")
        if i < 2:
            add_feedback(engine, span_id=sid, kind="label", name="tone", label="rude", source="human")
    return [r["span_id"] for r in rows]


def _by_name(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in found["evaluators"]}


def test_per_evaluator_results_label_fractions_mean_scores_and_sources(engine: Engine) -> None:
    seed(engine)
    found = eval_summary(engine, SpanQuery("p"))
    assert found["sample_fraction"] == 1.0
    evals = _by_name(found)
    assert list(evals) == ["length", "qa_correctness", "tone"]
    qa = evals["qa_correctness"]
    assert (qa["results"], qa["scored"], qa["sources"], qa["series"]) == (10, 9, ["llm"], [])
    assert qa["mean_score"] == pytest.approx(6 / 9)
    assert qa["labels"] == [{"label": "correct", "count": 6, "fraction": 0.6},
                            {"label": "incorrect", "count": 3, "fraction": 0.3},
                            {"label": "unparseable", "count": 1, "fraction": 0.1}]
    length = evals["length"]
    assert (length["results"], length["labels"], length["sources"]) == (4, [], ["code"])
    assert length["mean_score"] == pytest.approx((0 + 0.25 + 0.5 + 0.75) / 4)
    tone = evals["tone"]
    assert (tone["results"], tone["scored"], tone["mean_score"], tone["sources"]) == (2, 0, None, ["human"])
    assert tone["labels"] == [{"label": "rude", "count": 2, "fraction": 1.0}]


def test_daily_series_and_the_span_filter(engine: Engine) -> None:
    seed(engine)
    qa = _by_name(eval_summary(engine, SpanQuery("p"), bucket_seconds=DAY_S))["qa_correctness"]
    assert [b["bucket"] for b in qa["series"]] == ["2026-09-22T00:00:00Z", "2026-09-23T00:00:00Z"]
    day0, day1 = qa["series"]
    assert (day0["results"], day0["mean_score"], day0["labels"]) == (5, 0.8, {"correct": 4, "incorrect": 1})
    assert (day1["results"], day1["mean_score"]) == (5, 0.5)
    assert day1["labels"] == {"correct": 2, "incorrect": 2, "unparseable": 1}
    llm = _by_name(eval_summary(engine, SpanQuery("p", 'kind == "LLM"')))["qa_correctness"]
    assert llm["results"] == 5 and {s["label"]: s["count"] for s in llm["labels"]} == {"correct": 4, "incorrect": 1}
    late = eval_summary(engine, SpanQuery("p", start_us=DAY0_US + DAY_S * 1_000_000))
    assert _by_name(late)["qa_correctness"]["results"] == 5 and "tone" not in _by_name(late)


def test_the_label_filter_lists_exactly_the_spans_counted(engine: Engine) -> None:
    ids = seed(engine)
    listed = list_spans(engine, SpanQuery("p", 'feedback["qa_correctness"] == "incorrect"')).items
    assert sorted(s["span_id"] for s in listed) == sorted(ids[i] for i in INCORRECT)


def test_no_results_unknown_project_and_bad_filter(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        ensure_projects(conn, {"quiet"})
    assert eval_summary(engine, SpanQuery("quiet")) == {"sample_fraction": 1.0, "evaluators": []}
    with pytest.raises(NotFound, match="no project named 'nope'"):
        eval_summary(engine, SpanQuery("nope"))
    with pytest.raises(FilterError):
        eval_summary(engine, SpanQuery("quiet", "latncy_ms > 3"))


def test_evaluator_labels_rank_worst_rated_traces(engine: Engine) -> None:
    rows = [_span(i) for i in range(2)]
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {"p"})["p"]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows])
    add_feedback(engine, span_id=rows[0]["span_id"], kind="label", name="qa_correctness", label="correct", value=1.0,
                 source="llm")
    add_feedback(engine, span_id=rows[1]["span_id"], kind="label", name="qa_correctness", label="incorrect",
                 value=0.0, source="llm")
    worst = worst_rated_traces(engine, SpanQuery("p"))
    assert [(w["trace_id"], w["score"]) for w in worst] == [(rows[1]["trace_id"], 0.0), (rows[0]["trace_id"], 1.0)]


SPANS = 2048


def _seed_large(engine: Engine) -> None:
    """Span ids spread evenly over the 64-bit space (any id slice holds an exact share), each with
    one `judge` result: every fourth `bad` (score 0), the rest `good` (score 1)."""
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {"big"})["big"]
        spans, results = [], []
        for i in range(SPANS):
            row = dict.fromkeys(SPAN_COLUMNS)
            row.update(span_id=f"{i * (2**64 // SPANS):016x}", trace_id=f"{i:032x}", project_id=pid, name="s",
                       kind="LLM", status="OK", start_us=DAY0_US + i, end_us=DAY0_US + i + 1, latency_ms=0.001)
            spans.append(row)
            bad = i % 4 == 0
            results.append({"project_id": pid, "trace_id": row["trace_id"], "span_id": row["span_id"], "name": "judge",
                            "kind": "label", "label": "bad" if bad else "good", "value": 0.0 if bad else 1.0,
                            "source": "llm", "created_us": DAY0_US})
        insert_spans(conn, spans)
        conn.execute(Feedback.__table__.insert(), results)


def test_large_selections_read_the_same_sample_as_the_summary(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_large(engine)
    monkeypatch.setattr(metrics, "EXACT_MAX_SPANS", 1000)
    monkeypatch.setattr(metrics, "SAMPLE_SPANS", 512)
    found = eval_summary(engine, SpanQuery("big"))
    assert found["sample_fraction"] == metrics.summary(engine, SpanQuery("big"))[0]["sample_fraction"] == 0.25
    judge = _by_name(found)["judge"]
    assert judge["results"] == SPANS and judge["scored"] == SPANS
    assert {s["label"]: (s["count"], s["fraction"]) for s in judge["labels"]} == {"good": (1536, 0.75),
                                                                                  "bad": (512, 0.25)}
    assert judge["mean_score"] == 0.75


def test_rest_and_client_give_the_summary_with_its_errors(engine: Engine, server: RunningServer) -> None:
    seed(engine)
    with Client(server.url) as client:
        body = client.eval_metrics("p", bucket_seconds=DAY_S)
    assert set(body) == {"project", "bucket_seconds", "sample_fraction", "evaluators"}
    assert (body["project"], body["bucket_seconds"], body["sample_fraction"]) == ("p", DAY_S, 1.0)
    qa = _by_name(body)["qa_correctness"]
    assert set(qa) == {"name", "results", "sources", "labels", "scored", "mean_score", "series"}
    assert qa["results"] == 10 and qa["labels"][1] == {"label": "incorrect", "count": 3, "fraction": 0.3}
    assert [b["results"] for b in qa["series"]] == [5, 5]
    url = f"{server.url}/api/v1/projects/p/metrics/evals"
    llm = httpx.get(url, params={"filter": 'kind == "LLM"', "start": "2026-09-22T00:00:00Z"}).json()
    assert _by_name(llm)["qa_correctness"]["results"] == 5 and llm["bucket_seconds"] is None
    bad = httpx.get(url, params={"filter": 'kind == "LLM" and latncy_ms > 3'})
    assert bad.status_code == 400 and bad.json()["part"] == "latncy_ms" and "unknown field" in bad.json()["detail"]
    assert httpx.get(url, params={"bucket_seconds": 0}).status_code == 400
    missing = httpx.get(f"{server.url}/api/v1/projects/nope/metrics/evals")
    assert missing.status_code == 404 and "no project named 'nope'" in missing.json()["detail"]
