"""Large selections are summarised from a slice of span ids, scaled back up; small ones exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tenbin.store import metrics
from tenbin.store.engine import write_transaction
from tenbin.store.models import SPAN_COLUMNS
from tenbin.store.queries import SpanQuery
from tenbin.store.writes import ensure_projects, insert_spans

SPANS = 2048


def _seed(engine: Engine) -> None:
    """Span ids evenly spread over the 64-bit space, so any id slice holds an exact share."""
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {"big"})["big"]
        rows = []
        for i in range(SPANS):
            row = dict.fromkeys(SPAN_COLUMNS)
            row.pop("meta", None)
            row.update(span_id=f"{i * (2**64 // SPANS):016x}", trace_id=f"{i:032x}", project_id=pid, name="s",
                       kind="LLM", status="ERROR" if i % 4 == 0 else "OK", start_us=1_000_000 + i,
                       end_us=1_000_000 + i + 1000 * (i % 100 + 1), latency_ms=float(i % 100 + 1),
                       total_tokens=10, metadata=None)
            rows.append(row)
        insert_spans(conn, rows)


def test_large_selection_is_sampled_and_scaled(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(engine)
    exact = metrics.summary(engine, SpanQuery("big"))[0]
    assert exact["sample_fraction"] == 1.0 and exact["count"] == SPANS
    monkeypatch.setattr(metrics, "EXACT_MAX_SPANS", 1000)
    monkeypatch.setattr(metrics, "SAMPLE_SPANS", 512)
    sampled = metrics.summary(engine, SpanQuery("big"))[0]
    assert sampled["sample_fraction"] == 0.25
    assert sampled["count"] == SPANS and sampled["total_tokens"] == SPANS * 10
    assert sampled["error_rate"] == pytest.approx(exact["error_rate"], abs=0.02)
    assert sampled["latency_p50_ms"] == pytest.approx(exact["latency_p50_ms"], abs=3)


def test_selective_filter_is_not_sampled_down_to_a_few_spans(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(engine)
    monkeypatch.setattr(metrics, "EXACT_MAX_SPANS", 1000)
    monkeypatch.setattr(metrics, "SAMPLE_SPANS", 512)
    errors = metrics.summary(engine, SpanQuery("big", 'status == "ERROR"'))[0]
    assert errors["sample_fraction"] == 1.0 and errors["count"] == SPANS // 4
