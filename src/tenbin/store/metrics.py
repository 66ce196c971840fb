"""Summary metrics over spans: count, latency p50/p95, tokens, error rate, thumbs-up rate —
per time bucket and/or per group (a metadata key or a column). Aggregation runs in SQL on both
dialects; SQLite gets a `tb_percentile` aggregate registered by `engine.py`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, case, func, literal, select

from tenbin.errors import InvalidInput
from tenbin.store.models import Feedback, Span
from tenbin.store.queries import SpanQuery, iso, span_conditions

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
    if bucket_seconds is not None and bucket_seconds < 1:
        raise InvalidInput("bucket_seconds must be a positive number of seconds")
    width = bucket_seconds * 1_000_000 if bucket_seconds else None
    bucket = (Span.start_us // width) * width if width else literal(None)
    group = group_expression(group_by) if group_by else literal(None)
    with engine.connect() as conn:
        conds = span_conditions(conn, q)
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
    return [_row(r, thumbs.get((r.bucket, r.grp), (None, 0)), bool(width), bool(group_by)) for r in rows]


def _row(r: Any, thumbs: tuple[float | None, int], bucketed: bool, grouped: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if bucketed:
        out["bucket"] = iso(r.bucket)
    if grouped:
        out["group"] = r.grp
    out.update(
        count=r.count, latency_p50_ms=r.p50, latency_p95_ms=r.p95,
        prompt_tokens=r.prompt_tokens or 0, completion_tokens=r.completion_tokens or 0,
        total_tokens=r.total_tokens or 0, error_rate=float(r.error_rate or 0),
        thumbs_up_rate=thumbs[0], thumbs_count=thumbs[1],
    )
    return out
