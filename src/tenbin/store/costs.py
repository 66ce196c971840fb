"""Span costs in SQL: the spans the cost job prices, its writes, and cost summaries.

Summaries read `ix_spans_project_cost` (spans with a cost, covering model, cost and whether it was
computed) and sample large selections exactly as `store.metrics` does: the same span-id slice, so
the overview's cost agrees with its other numbers, and counts and sums are scaled by the inverse of
`sample_fraction`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Float,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    update,
)

from tenbin.prices import Price
from tenbin.store.metrics import bucket_expression, sampled_conditions
from tenbin.store.models import Span
from tenbin.store.models.core import COST_PENDING
from tenbin.store.queries import SpanQuery, iso

PRICED_COLUMNS = (Span.span_id, Span.model, Span.start_us, Span.prompt_tokens, Span.completion_tokens)
_PENDING = text(COST_PENDING)
"""As SQL text, so both planners see the partial index's own predicate and read that index."""
NOT_THE_APPS = or_(Span.cost.is_(None), Span.cost_computed.is_not(None))
"""Spans whose cost tenbin may write: the app's own cost (set, and never computed) always wins."""


def pending_projects(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(Span.project_id).where(_PENDING).distinct()).scalars())


def count_pending(engine: Engine, pid: int) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Span).where(Span.project_id == pid, _PENDING)).scalar_one()


def pending_spans(engine: Engine, pid: int, limit: int) -> list[Any]:
    """The oldest spans still waiting for their cost."""
    stmt = select(*PRICED_COLUMNS).where(Span.project_id == pid, _PENDING).order_by(Span.start_us).limit(limit)
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def _in_window(pid: int, start_us: int | None, end_us: int | None) -> list[Any]:
    conds = [Span.project_id == pid, Span.model.is_not(None), NOT_THE_APPS]
    if start_us is not None:
        conds.append(Span.start_us >= start_us)
    if end_us is not None:
        conds.append(Span.start_us < end_us)
    return conds


def count_in_window(engine: Engine, pid: int, start_us: int | None, end_us: int | None) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Span).where(*_in_window(pid, start_us, end_us))).scalar_one()


def spans_in_window(engine: Engine, pid: int, start_us: int | None, end_us: int | None,
                    after: list[Any] | None, limit: int) -> list[Any]:
    """Spans tenbin may (re)price in [start_us, end_us), in (start_us, span_id) order after `after`."""
    conds = _in_window(pid, start_us, end_us)
    if after:
        conds.append(or_(Span.start_us > after[0], and_(Span.start_us == after[0], Span.span_id > after[1])))
    stmt = select(*PRICED_COLUMNS).where(*conds).order_by(Span.start_us, Span.span_id).limit(limit)
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def _computed(price: Price) -> Any:
    """`Price.cost` in SQL, the same operations in the same order, so both give the same float."""
    prompt = cast(func.coalesce(Span.prompt_tokens, 0), Float) * literal(price.prompt_per_1m, Float)
    completion = cast(func.coalesce(Span.completion_tokens, 0), Float) * literal(price.completion_per_1m, Float)
    return (prompt + completion) / literal(1_000_000.0, Float)


def write_costs(conn: Connection, priced: dict[Price, list[str]], unpriced: list[str], pending_only: bool = False) -> None:
    """Set the cost of each span in `priced` from its price (computed = true); clear it for
    `unpriced` (computed = false). One statement per price, never per span. `pending_only` (the
    fill job) leaves alone a span priced meanwhile, e.g. by a recompute with a newer price table."""
    mine = and_(NOT_THE_APPS, _PENDING) if pending_only else NOT_THE_APPS
    for price, ids in priced.items():
        conn.execute(update(Span).where(Span.span_id.in_(ids), mine).values(cost=_computed(price), cost_computed=True))
    if unpriced:
        conn.execute(update(Span).where(Span.span_id.in_(unpriced), mine).values(cost=None, cost_computed=False))


def cost_summary(engine: Engine, q: SpanQuery, bucket_seconds: int | None = 86400) -> dict[str, Any]:
    """Total cost (and its computed part), per model and per time bucket and model, in USD."""
    bucket = bucket_expression(bucket_seconds)
    computed = func.sum(case((Span.cost_computed.is_(True), Span.cost), else_=0.0))
    with engine.connect() as conn:
        conds, fraction = sampled_conditions(conn, q)
        rows = conn.execute(
            select(bucket.label("bucket"), Span.model, func.count().label("spans"), func.sum(Span.cost).label("cost"),
                   computed.label("computed"))
            .where(*conds, Span.cost.is_not(None)).group_by("bucket", Span.model).order_by("bucket", Span.model)
        ).all()
    return _summary(rows, fraction, bucket_seconds)


def _summary(rows: list[Any], fraction: float, bucket_seconds: int | None) -> dict[str, Any]:
    models: dict[str | None, dict[str, Any]] = {}
    series: dict[Any, dict[str, Any]] = {}
    for r in rows:
        cost, computed, spans = (r.cost or 0.0) / fraction, (r.computed or 0.0) / fraction, round(r.spans / fraction)
        m = models.setdefault(r.model, {"model": r.model, "cost": 0.0, "computed_cost": 0.0, "spans": 0})
        m.update(cost=m["cost"] + cost, computed_cost=m["computed_cost"] + computed, spans=m["spans"] + spans)
        point = series.setdefault(r.bucket, {"bucket": iso(r.bucket), "cost": 0.0, "models": defaultdict(float)})
        point["cost"] += cost
        point["models"][r.model or ""] += cost
    by_model = sorted(models.values(), key=lambda m: -m["cost"])
    return {"currency": "USD", "total_cost": sum(m["cost"] for m in by_model),
            "computed_cost": sum(m["computed_cost"] for m in by_model), "spans": sum(m["spans"] for m in by_model),
            "sample_fraction": fraction, "bucket_seconds": bucket_seconds, "by_model": by_model,
            "series": [{**p, "models": dict(p["models"])} for p in series.values()] if bucket_seconds else []}
