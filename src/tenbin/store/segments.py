"""Queries behind the overview, sessions and segments pages: segments of spans, sessions,
worst-rated traces, and the small facts (time extent, trace count, metadata keys) pages need.

A segment is always described by a filter in tenbin's filter language, and bucketed segments are
*computed* through that same filter (one `metrics.summary` call per bucket), so a segment's link to
the traces list shows exactly the spans that were counted. The bucket edges are fixed:

    latency_ms:                     <100, 100–500, 500–1000, 1000–2000, 2000–5000, ≥5000 ms
    prompt_tokens, total_tokens:    <100, 100–500, 500–1000, 1000–4000, ≥4000 tokens, and "no tokens"

Lower edges are inclusive, upper edges exclusive, so the buckets partition the spans.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select

from tenbin.errors import InvalidInput
from tenbin.filters import compile_filter
from tenbin.store.eval_metrics import RESULT_KINDS
from tenbin.store.metrics import GROUP_COLUMNS, summary
from tenbin.store.models import Feedback, Span, Trace
from tenbin.store.pages import Page, check_limit, decode_cursor, page_of
from tenbin.store.queries import SpanQuery, iso, project_id, span_conditions

LATENCY_EDGES_MS: tuple[int, ...] = (100, 500, 1000, 2000, 5000)
TOKEN_EDGES: tuple[int, ...] = (100, 500, 1000, 4000)
BUCKET_EDGES: dict[str, tuple[int, ...]] = {
    "latency_ms": LATENCY_EDGES_MS, "prompt_tokens": TOKEN_EDGES, "total_tokens": TOKEN_EDGES,
}
"""Dimensions that are numeric ranges rather than values, with their bucket edges."""
METADATA_SAMPLE = 1000
"""How many of a project's latest spans are read to find its metadata keys."""


@dataclass(frozen=True)
class Bucket:
    label: str
    filter: str


def _number(n: int, unit: str) -> str:
    if unit == "ms":
        return f"{n / 1000:g} s" if n >= 1000 else f"{n} ms"
    return f"{n / 1000:g}k" if n >= 1000 else str(n)


def buckets(field: str) -> list[Bucket]:
    """The fixed buckets of a numeric field, each with its label and its filter."""
    if field not in BUCKET_EDGES:
        raise InvalidInput(f"no buckets for {field!r}; choose one of: {', '.join(BUCKET_EDGES)}")
    edges, unit = BUCKET_EDGES[field], "ms" if field == "latency_ms" else "tokens"
    out = [Bucket(f"< {_number(edges[0], unit)}", f"{field} < {edges[0]}")]
    for low, high in zip(edges, edges[1:]):
        out.append(Bucket(f"{_number(low, unit)} – {_number(high, unit)}", f"{field} >= {low} and {field} < {high}"))
    out.append(Bucket(f"≥ {_number(edges[-1], unit)}", f"{field} >= {edges[-1]}"))
    if field != "latency_ms":
        out.append(Bucket(f"no {field.replace('_', ' ')}", f"{field} is None"))
    return out


def both(*filters: str) -> str:
    """Filters joined with `and`, each parenthesised so an `or` inside one cannot leak."""
    parts = [f.strip() for f in filters if f and f.strip()]
    return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)


def _field(dimension: str) -> str:
    """The filter-language field of a value dimension (`metadata.<key>` or a column)."""
    key = dimension[len("metadata."):] if dimension.startswith("metadata.") else None
    if key and '"' not in key:
        return f"metadata[{json.dumps(key, ensure_ascii=False)}]"
    if dimension in GROUP_COLUMNS:
        return dimension
    raise InvalidInput(
        f"cannot segment by {dimension!r}; use metadata.<key> (a key without double quotes), "
        f"one of the buckets {', '.join(BUCKET_EDGES)} or one of the columns {', '.join(GROUP_COLUMNS)}"
    )


def value_filter(dimension: str, value: Any) -> str:
    """The filter selecting the spans of one `metrics.summary` group (`metadata.<key>` or a column)."""
    field = _field(dimension)
    if value is None:
        return f"{field} is None"
    text = str(value)
    exact = f"{field} == {json.dumps(text, ensure_ascii=False)}"
    if field.startswith("metadata[") and _is_number(text):
        return f"{exact} or {field} == {text}"
    return exact


def _is_number(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, int | float) and not isinstance(value, bool)


def segment_rows(engine: Engine, q: SpanQuery, dimension: str) -> list[dict[str, Any]]:
    """Per segment: the `metrics.summary` row plus `label` and the `filter` that selects it."""
    if dimension in BUCKET_EDGES:
        rows = []
        for b in buckets(dimension):
            found = summary(engine, replace(q, filter=both(q.filter, b.filter)))
            rows.append({**(found[0] if found else _empty_row()), "label": b.label, "filter": b.filter})
        return rows
    _field(dimension)
    grouped = summary(engine, q, group_by=dimension)
    for row in grouped:
        row["label"], row["filter"] = row["group"], value_filter(dimension, row["group"])
    return sorted(grouped, key=lambda r: (-r["count"], r["label"] is None, str(r["label"])))


def _empty_row() -> dict[str, Any]:
    return {"count": 0, "latency_p50_ms": None, "latency_p95_ms": None, "prompt_tokens": 0,
            "completion_tokens": 0, "total_tokens": 0, "error_rate": None, "thumbs_up_rate": None,
            "thumbs_count": 0}


def metadata_keys(engine: Engine, project: str, sample: int = METADATA_SAMPLE) -> list[str]:
    """Metadata keys of the project's latest spans, most frequent first."""
    with engine.connect() as conn:
        pid = project_id(conn, project)
        rows = conn.execute(
            select(Span.meta).where(Span.project_id == pid, Span.meta.is_not(None))
            .order_by(Span.start_us.desc()).limit(sample)
        ).scalars()
        counts = Counter(k for meta in rows if isinstance(meta, dict) for k in meta if '"' not in k)
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def time_extent(engine: Engine, q: SpanQuery) -> tuple[int, int] | None:
    """Earliest and latest span start (µs) of the selection; None when it is empty."""
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(Span.start_us), func.max(Span.start_us)).where(*span_conditions(conn, q))).one()
    return None if low is None else (low, high)


def count_traces(engine: Engine, q: SpanQuery) -> int:
    """Traces with at least one span in the selection; without a filter, counted on the (smaller)
    `traces` table by trace start, which ingest keeps equal to its earliest span's start."""
    with engine.connect() as conn:
        if q.filter.strip():
            stmt = select(func.count(func.distinct(Span.trace_id))).where(*span_conditions(conn, q))
        else:
            stmt = select(func.count()).select_from(Trace).where(Trace.project_id == project_id(conn, q.project),
                                                                 *_trace_window(q))
        return conn.execute(stmt).scalar_one()


def _thumbs_counts() -> tuple[Any, Any]:
    is_thumbs = Feedback.kind == "thumbs"
    ups = func.sum(case((and_(is_thumbs, Feedback.value == 1), 1), else_=0))
    downs = func.sum(case((and_(is_thumbs, Feedback.value == 0), 1), else_=0))
    return ups, downs


def worst_rated_traces(engine: Engine, q: SpanQuery, limit: int = 10) -> list[dict[str, Any]]:
    """Traces with a thumbs-down or a score: lowest thumbs-up rate, most downs, lowest score first.
    Scores include evaluator labels' scores (a judge's `incorrect` is 0.0), so bad verdicts rank too."""
    ups, downs = _thumbs_counts()
    up_rate = func.avg(case((Feedback.kind == "thumbs", Feedback.value)))
    score = func.avg(case((Feedback.kind.in_(RESULT_KINDS), Feedback.value)))
    with engine.connect() as conn:
        pid = project_id(conn, q.project)
        stmt = (
            select(Feedback.trace_id, ups.label("ups"), downs.label("downs"), up_rate.label("up_rate"),
                   score.label("score"), Trace.start_us, Trace.end_us, Trace.root_span_id, Trace.session_id)
            .join(Trace, Trace.trace_id == Feedback.trace_id)
            .where(Feedback.project_id == pid, Feedback.kind.in_(("thumbs", *RESULT_KINDS)), *_trace_window(q))
            .group_by(Feedback.trace_id, Trace.start_us, Trace.end_us, Trace.root_span_id, Trace.session_id)
            .having(or_(downs > 0, score.is_not(None)))
            .order_by(func.coalesce(up_rate, 2.0), downs.desc(), case((score.is_(None), 1), else_=0), score,
                      Trace.start_us.desc())
            .limit(check_limit(limit))
        )
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        roots = _root_texts(conn, [r["root_span_id"] for r in rows if r["root_span_id"]])
    for r in rows:
        r.update(start_time=iso(r["start_us"]), latency_ms=(r["end_us"] - r["start_us"]) / 1000,
                 root=roots.get(r["root_span_id"], {}))
    return rows


def _trace_window(q: SpanQuery) -> list[Any]:
    """Conditions on `traces`: start within the time range, and a span matching the filter."""
    conds = []
    if q.start_us is not None:
        conds.append(Trace.start_us >= q.start_us)
    if q.end_us is not None:
        conds.append(Trace.start_us < q.end_us)
    if q.filter.strip():
        conds.append(select(Span.span_id).where(Span.trace_id == Trace.trace_id, compile_filter(q.filter)).exists())
    return conds


def _root_texts(conn: Any, span_ids: list[str]) -> dict[str, dict[str, Any]]:
    stmt = select(Span.span_id, Span.name, Span.kind, Span.input_value, Span.status).where(Span.span_id.in_(span_ids))
    return {r.span_id: dict(r._mapping) for r in conn.execute(stmt)} if span_ids else {}


def list_sessions(engine: Engine, project: str, limit: int = 50, cursor: str | None = None) -> Page:
    """Sessions, most recently active first: user, turns, first/last time, total latency, thumbs."""
    last = func.max(Trace.start_us)
    stmt = (
        select(Trace.session_id, func.max(Trace.user_id).label("user_id"), func.count().label("turns"),
               func.min(Trace.start_us).label("first_us"), last.label("last_us"),
               func.sum(Trace.end_us - Trace.start_us).label("total_us"))
        .where(Trace.session_id.is_not(None)).group_by(Trace.session_id)
        .order_by(last.desc(), Trace.session_id.desc()).limit(check_limit(limit) + 1)
    )
    if cursor:
        value, tie = decode_cursor(cursor, 2)
        stmt = stmt.having(or_(last < value, and_(last == value, Trace.session_id < tie)))
    with engine.connect() as conn:
        pid = project_id(conn, project)
        rows = [dict(r._mapping) for r in conn.execute(stmt.where(Trace.project_id == pid))]
        page = page_of(rows, limit, "last_us", "session_id")
        thumbs = _session_thumbs(conn, pid, [s["session_id"] for s in page.items])
    for s in page.items:
        s.update(first_time=iso(s["first_us"]), last_time=iso(s["last_us"]), total_latency_ms=s["total_us"] / 1000,
                 thumbs_up=thumbs.get(s["session_id"], (0, 0))[0], thumbs_down=thumbs.get(s["session_id"], (0, 0))[1])
    return page


def _session_thumbs(conn: Any, pid: int, session_ids: list[str]) -> dict[str, tuple[int, int]]:
    if not session_ids:
        return {}
    ups, downs = _thumbs_counts()
    stmt = (
        select(Trace.session_id, ups, downs).join(Feedback, Feedback.trace_id == Trace.trace_id)
        .where(Trace.project_id == pid, Trace.session_id.in_(session_ids), Feedback.kind == "thumbs")
        .group_by(Trace.session_id)
    )
    return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in conn.execute(stmt)}
