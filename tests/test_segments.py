"""Segments, sessions and worst-rated traces on SQLite and PostgreSQL (`tenbin.store.segments`)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.store.engine import write_transaction
from tenbin.store.feedback import add_feedback
from tenbin.store.metrics import summary
from tenbin.store.models import SPAN_COLUMNS
from tenbin.store.queries import SpanQuery
from tenbin.store.segments import (
    buckets,
    count_traces,
    list_sessions,
    metadata_keys,
    segment_rows,
    time_extent,
    value_filter,
    worst_rated_traces,
)
from tenbin.store.writes import ensure_projects, insert_spans

T0 = 1_790_000_000_000_000
_ids = itertools.count(1)


def span(trace: str, latency_ms: float = 10.0, start_s: int = 0, **values: Any) -> dict[str, Any]:
    """A full span row with every unset column None; ids are sequential, times relative to T0."""
    n = next(_ids)
    start = T0 + start_s * 1_000_000
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS)
    row.update(span_id=f"{n:016x}", trace_id=trace.ljust(32, "0"), name="step", kind="CHAIN", status="OK",
               start_us=start, end_us=start + int(latency_ms * 1000), latency_ms=latency_ms)
    row.update(values)
    return row


def store(engine: Engine, rows: list[dict[str, Any]], project: str = "p") -> None:
    with write_transaction(engine) as conn:
        pid = ensure_projects(conn, {project})[project]
        insert_spans(conn, [{**r, "project_id": pid} for r in rows])


def thumbs(engine: Engine, row: dict[str, Any], *values: int) -> None:
    for v in values:
        add_feedback(engine, span_id=row["span_id"], kind="thumbs", value=v)


LATENCIES = [5.0, 99.9, 100.0, 499.0, 500.0, 999.0, 1000.0, 1999.0, 2000.0, 4999.0, 5000.0, 60000.0]


def test_latency_buckets_partition_the_spans_with_inclusive_lower_edges(engine: Engine) -> None:
    store(engine, [span(f"t{i}", latency) for i, latency in enumerate(LATENCIES)])
    rows = segment_rows(engine, SpanQuery("p"), "latency_ms")
    assert [r["label"] for r in rows] == ["< 100 ms", "100 ms – 500 ms", "500 ms – 1 s", "1 s – 2 s", "2 s – 5 s", "≥ 5 s"]
    assert [r["count"] for r in rows] == [2, 2, 2, 2, 2, 2]
    assert sum(r["count"] for r in rows) == len(LATENCIES)
    assert rows[1]["filter"] == "latency_ms >= 100 and latency_ms < 500"


def test_token_buckets_count_spans_without_tokens_separately(engine: Engine) -> None:
    store(engine, [span("a", total_tokens=50), span("b", total_tokens=4000), span("c", total_tokens=700), span("d")])
    rows = {r["label"]: r["count"] for r in segment_rows(engine, SpanQuery("p"), "total_tokens")}
    assert rows == {"< 100": 1, "100 – 500": 0, "500 – 1k": 1, "1k – 4k": 0, "≥ 4k": 1, "no total tokens": 1}


def test_bucket_segments_respect_the_scope_filter(engine: Engine) -> None:
    store(engine, [span("a", 50, kind="LLM"), span("b", 50), span("c", 700, kind="LLM")])
    rows = segment_rows(engine, SpanQuery("p", 'kind == "LLM"'), "latency_ms")
    assert [r["count"] for r in rows] == [1, 0, 1, 0, 0, 0]


def test_metadata_segments_match_metrics_and_their_filters_select_the_same_spans(engine: Engine) -> None:
    rows = [span("a", metadata={"task": "billing"}), span("b", metadata={"task": "billing"}), span("c", metadata={"task": 'say "hi"'}),
            span("d", metadata={"task": 7}), span("e", metadata={"other": "x"}), span("f")]
    store(engine, rows)
    thumbs(engine, rows[0], 1, 0)
    segments = segment_rows(engine, SpanQuery("p"), "metadata.task")
    grouped = {r["group"]: r["count"] for r in summary(engine, SpanQuery("p"), group_by="metadata.task")}
    assert {r["label"]: r["count"] for r in segments} == grouped
    assert segments[0]["label"] == "billing" and segments[0]["thumbs_up_rate"] == 0.5
    for seg in segments:
        assert summary(engine, SpanQuery("p", seg["filter"]))[0]["count"] == seg["count"], seg["filter"]


def test_column_segments_link_with_equality_or_none(engine: Engine) -> None:
    store(engine, [span("a", model="gpt-4o"), span("b")])
    segments = segment_rows(engine, SpanQuery("p"), "model")
    assert sorted(s["filter"] for s in segments) == ['model == "gpt-4o"', "model is None"]
    assert value_filter("metadata.task", None) == 'metadata["task"] is None'


def test_unknown_dimension_is_refused_with_the_choices(engine: Engine) -> None:
    store(engine, [span("a")])
    for bad in ("colour", "metadata.", 'metadata.a"b'):
        with pytest.raises(InvalidInput, match="latency_ms"):
            segment_rows(engine, SpanQuery("p"), bad)
    with pytest.raises(InvalidInput, match="choose one of"):
        buckets("cost")


def test_metadata_keys_come_from_recent_spans_most_frequent_first(engine: Engine) -> None:
    store(engine, [span("a", start_s=1, metadata={"task": "x", "lang": "en"}), span("b", start_s=2, metadata={"task": "y"}),
                   span("c", start_s=0, metadata={"old": 1})])
    assert metadata_keys(engine, "p") == ["task", "lang", "old"]
    assert metadata_keys(engine, "p", sample=2) == ["task", "lang"]


def test_time_extent_and_trace_count_follow_the_filter(engine: Engine) -> None:
    store(engine, [span("a", start_s=5), span("a", start_s=9, kind="LLM"), span("b", start_s=20, kind="LLM"),
                   span("c", start_s=30)])
    assert count_traces(engine, SpanQuery("p")) == 3
    assert count_traces(engine, SpanQuery("p", 'kind == "LLM"')) == 2
    assert count_traces(engine, SpanQuery("p", start_us=T0 + 10_000_000)) == 2
    assert count_traces(engine, SpanQuery("p", 'kind == "LLM"', start_us=T0 + 10_000_000)) == 1
    assert time_extent(engine, SpanQuery("p", 'kind == "LLM"')) == (T0 + 9_000_000, T0 + 20_000_000)
    assert time_extent(engine, SpanQuery("p", 'kind == "TOOL"')) is None


def _conversation(session: str, turns: int, start_s: int, user: str = "u1") -> list[dict[str, Any]]:
    return [span(f"{session}-{i}", 100.0, start_s + i, session_id=session, user_id=user) for i in range(turns)]


def test_sessions_are_listed_newest_first_with_turns_latency_and_thumbs(engine: Engine) -> None:
    old, new = _conversation("old", 3, 0), _conversation("new", 2, 100, user="u2")
    store(engine, old + new + [span("nosession")])
    thumbs(engine, old[0], 1)
    thumbs(engine, old[1], 0, 0)
    items = list_sessions(engine, "p").items
    assert [s["session_id"] for s in items] == ["new", "old"]
    assert (items[0]["turns"], items[0]["user_id"], items[0]["total_latency_ms"]) == (2, "u2", 200.0)
    assert (items[1]["thumbs_up"], items[1]["thumbs_down"], items[1]["first_us"]) == (1, 2, T0)


def test_sessions_page_through_every_session_once(engine: Engine) -> None:
    rows = [r for i in range(7) for r in _conversation(f"s{i}", 1, 10 if i in (2, 3, 4) else i)]
    store(engine, rows)
    seen, cursor = [], None
    while True:
        page = list_sessions(engine, "p", limit=2, cursor=cursor)
        seen += [s["session_id"] for s in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == ["s4", "s3", "s2", "s6", "s5", "s1", "s0"]


def test_worst_rated_traces_put_most_downs_first_and_skip_praised_ones(engine: Engine) -> None:
    rows = [span("bad", start_s=1), span("mixed", start_s=2), span("good", start_s=3), span("scored", start_s=4),
            span("worse", start_s=5, kind="LLM")]
    store(engine, rows)
    thumbs(engine, rows[0], 0)
    thumbs(engine, rows[1], 0, 1)
    thumbs(engine, rows[2], 1)
    add_feedback(engine, span_id=rows[3]["span_id"], kind="score", value=0.2)
    thumbs(engine, rows[4], 0, 0)
    worst = worst_rated_traces(engine, SpanQuery("p"))
    assert [w["trace_id"].rstrip("0") for w in worst] == ["worse", "bad", "mixed", "scored"]
    assert (worst[0]["downs"], worst[0]["ups"], worst[3]["score"]) == (2, 0, 0.2)
    assert worst[1]["root"]["span_id"] == rows[0]["span_id"]
    only_llm = worst_rated_traces(engine, SpanQuery("p", 'kind == "LLM"'))
    assert [w["trace_id"].rstrip("0") for w in only_llm] == ["worse"]
    assert worst_rated_traces(engine, SpanQuery("p", start_us=T0 + 2_500_000)) == worst[:1] + worst[3:]
