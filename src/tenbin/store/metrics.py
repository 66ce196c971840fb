"""Summary metrics over spans: count, latency p50/p95, tokens, error rate, thumbs-up rate —
per time bucket and/or per group (a metadata key or a column). Aggregation runs in SQL on both
dialects; SQLite gets a `tb_percentile` aggregate registered by `engine.py`.

Large selections are summarised from a uniform sample, on both databases. Reading every one of a
million spans (and sorting their latencies) takes seconds, which no overview page can wait for.
Span ids are random 64-bit numbers (OpenTelemetry), so `span_id < "0400"` holds for 1/64 of any
set of spans independently of time, kind or outcome; the index `ix_spans_project_sample` (led by
project and span id, covering time, status, latency and tokens) reads such a slice without
touching the table. That index is partial (ids below `SAMPLED_IDS_BELOW`, a quarter of them), so
a slice query also states that bound as SQL text (`id_slice`): neither SQLite nor a generic PostgreSQL
plan proves that `span_id < '0400'` (a bound parameter) implies the index's `span_id < '4000'`. A 1/64 probe
estimates the selection's size; above `EXACT_MAX_SPANS` the
summary reads a slice of about `SAMPLE_SPANS` spans, scales counts and token sums by the inverse
of the fraction, and reports the fraction as `sample_fraction` (1.0 means every span was read).
Rates and percentiles come from the sampled spans as they are; a group with no sampled span is
missing. Ids that are not random (hand-made, sequential) make the sample biased.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    case,
    func,
    literal,
    literal_column,
    select,
)

from tenbin.errors import InvalidInput
from tenbin.store.models import Feedback, Span
from tenbin.store.models.core import SAMPLED_IDS_BELOW
from tenbin.store.queries import SpanQuery, iso, span_conditions

EXACT_MAX_SPANS = 100_000
"""Selections estimated at up to this many spans are summarised from every span."""
SAMPLE_SPANS = 25_000
"""About how many spans a sampled summary reads."""
PROBE = "0400"
"""`span_id < PROBE`: the 1/64 slice of span ids that estimates a selection's size."""
_ID_SLOTS = 16**4

GROUP_COLUMNS = {
    "kind": Span.kind, "model": Span.model, "status": Span.status, "name": Span.name,
    "prompt_name": Span.prompt_name, "prompt_version": Span.prompt_version, "user_id": Span.user_id,
}


def percentile(column: ColumnElement, q: float, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return func.percentile_cont(q).within_group(column)
    return func.tb_percentile(column, q)


def group_expression(group_by: str) -> ColumnElement:
    """`metadata.task` groups by a metadata key; a bare name groups by one of GROUP_COLUMNS."""
    if group_by.startswith("metadata."):
        key = group_by[len("metadata."):]
        if not key:
            raise InvalidInput("group_by 'metadata.' needs a key, e.g. metadata.task")
        return Span.meta[key].as_string()
    if group_by in GROUP_COLUMNS:
        return GROUP_COLUMNS[group_by]
    raise InvalidInput(f"cannot group by {group_by!r}; use metadata.<key> or one of: {', '.join(GROUP_COLUMNS)}")


def summary(engine: Engine, q: SpanQuery, bucket_seconds: int | None = None,
            group_by: str | None = None) -> list[dict[str, Any]]:
    """One row per (time bucket, group); without either, one row for the whole selection."""
    bucket = bucket_expression(bucket_seconds)
    group = group_expression(group_by) if group_by else literal(None)
    with engine.connect() as conn:
        conds, fraction = sampled_conditions(conn, q)
        dialect = conn.dialect.name
        stmt = select(
            bucket.label("bucket"), group.label("grp"), func.count().label("count"),
            percentile(Span.latency_ms, 0.5, dialect).label("p50"),
            percentile(Span.latency_ms, 0.95, dialect).label("p95"),
            func.sum(Span.prompt_tokens).label("prompt_tokens"),
            func.sum(Span.completion_tokens).label("completion_tokens"),
            func.sum(Span.total_tokens).label("total_tokens"),
            func.avg(case((Span.status == "ERROR", 1.0), else_=0.0)).label("error_rate"),
        ).where(*conds).group_by("bucket", "grp").order_by("bucket", "grp")
        rows = conn.execute(stmt).all()
        thumbs = {
            (r.bucket, r.grp): (r.rate, r.n)
            for r in conn.execute(
                select(bucket.label("bucket"), group.label("grp"), func.avg(Feedback.value).label("rate"),
                       func.count().label("n"))
                .select_from(Span).join(Feedback, Feedback.span_id == Span.span_id)
                .where(*conds, Feedback.kind == "thumbs").group_by("bucket", "grp")
            )
        }
    return [_row(r, thumbs.get((r.bucket, r.grp), (None, 0)), bool(bucket_seconds), bool(group_by), fraction)
            for r in rows]


def bucket_expression(bucket_seconds: int | None) -> ColumnElement:
    """A span's time bucket (its start rounded down to `bucket_seconds`, in µs); NULL without one."""
    if bucket_seconds is None:
        return literal(None)
    if bucket_seconds < 1:
        raise InvalidInput("bucket_seconds must be a positive number of seconds")
    width = bucket_seconds * 1_000_000
    return (Span.start_us // width) * width


def sampled_conditions(conn: Any, q: SpanQuery) -> tuple[list[Any], float]:
    """The selection's span conditions, narrowed to a slice of span ids when it is large, and the
    fraction read: every summary of a selection samples the same spans (see the module docstring)."""
    conds = span_conditions(conn, q)
    fraction = sample_fraction(conn, q, conds)
    if fraction < 1:
        conds = [*conds, *id_slice(_id_below(fraction))]
    return conds, fraction


def _id_below(fraction: float) -> str:
    """The span-id bound that keeps `fraction` (rounded to a multiple of 1/65536) of random ids."""
    return f"{min(_ID_SLOTS - 1, max(1, round(fraction * _ID_SLOTS))):04x}"


def _slice(fraction: float) -> float:
    return int(_id_below(fraction), 16) / _ID_SLOTS


def id_slice(below: str) -> list[ColumnElement[bool]]:
    """`span_id < below`, plus the sample index's own bound as SQL text when the slice lies within it."""
    conds = [Span.span_id < below]
    if below <= SAMPLED_IDS_BELOW:
        conds.append(Span.span_id < literal_column(f"'{SAMPLED_IDS_BELOW}'"))
    return conds


def _probe_count(conn: Any, conds: list[Any]) -> int:
    return conn.execute(select(func.count()).select_from(Span).where(*conds, *id_slice(PROBE))).scalar_one()


def sample_fraction(conn: Any, q: SpanQuery, conds: list[Any]) -> float:
    """1.0 for a selection small enough to read whole, else the slice of span ids to read.

    The probe ignores the filter first (an index-only count); only a large project+time range
    pays for probing the filter too, so a selective filter is not summarised from a few spans.
    """
    estimate = _probe_count(conn, span_conditions(conn, replace(q, filter=""))) * _ID_SLOTS / int(PROBE, 16)
    if estimate > EXACT_MAX_SPANS and q.filter.strip():
        estimate = _probe_count(conn, conds) * _ID_SLOTS / int(PROBE, 16)
    if estimate <= EXACT_MAX_SPANS:
        return 1.0
    return _slice(SAMPLE_SPANS / estimate)


def _row(r: Any, thumbs: tuple[float | None, int], bucketed: bool, grouped: bool,
         fraction: float = 1.0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if bucketed:
        out["bucket"] = iso(r.bucket)
    if grouped:
        out["group"] = r.grp
    def scaled(n: Any) -> int:
        return round((n or 0) / fraction)

    out.update(
        count=scaled(r.count), latency_p50_ms=r.p50, latency_p95_ms=r.p95,
        prompt_tokens=scaled(r.prompt_tokens), completion_tokens=scaled(r.completion_tokens),
        total_tokens=scaled(r.total_tokens), error_rate=float(r.error_rate or 0),
        thumbs_up_rate=thumbs[0], thumbs_count=scaled(thumbs[1]), sample_fraction=fraction,
    )
    return out
