"""Reads only the web UI needs, kept apart from `queries.py` (which is tuned for the REST API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, or_, select

from tenbin.store.models import Span


def llm_details(engine: Engine, trace_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per trace, the model and prompt of its earliest span that has one.

    Agent traces rarely carry them on the root span, yet the traces list should show which model
    and prompt version answered; one indexed query per page of traces (by `trace_id`).
    """
    if not trace_ids:
        return {}
    stmt = (
        select(Span.trace_id, Span.model, Span.prompt_name, Span.prompt_version)
        .where(Span.trace_id.in_(trace_ids),
               or_(Span.model.is_not(None), Span.prompt_name.is_not(None), Span.prompt_version.is_not(None)))
        .order_by(Span.start_us)
    )
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for r in conn.execute(stmt):
            found = out.setdefault(r.trace_id, {"model": None, "prompt_name": None, "prompt_version": None})
            for key in ("model", "prompt_name", "prompt_version"):
                if found[key] is None:
                    found[key] = getattr(r, key)
    return out


def span_traces(engine: Engine, span_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per span id, its trace id and name: what a page listing results by span links to."""
    if not span_ids:
        return {}
    stmt = select(Span.span_id, Span.trace_id, Span.name).where(Span.span_id.in_(span_ids))
    with engine.connect() as conn:
        return {r.span_id: {"trace_id": r.trace_id, "name": r.name} for r in conn.execute(stmt)}
